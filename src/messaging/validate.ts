// Checks of names, topics, bodies and timeouts, before anything reaches the database.
import {
  BadMailboxNameError,
  BadMessageError,
  BadOptionError,
  BadTopicError,
  MessageTooLargeError,
} from './errors.js';

/** Largest message body, as UTF-8 JSON text. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

const MAILBOX = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;
const TOPIC = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;

export function checkMailbox(name: unknown): string {
  if (typeof name !== 'string' || !MAILBOX.test(name)) throw new BadMailboxNameError(name);
  return name;
}

/** A topic, or undefined for none. */
export function checkTopic(topic: unknown): string | undefined {
  if (topic === undefined || topic === null) return undefined;
  if (typeof topic !== 'string' || !TOPIC.test(topic)) throw new BadTopicError(topic);
  return topic;
}

/** The message as JSON text, refused when it is not JSON or over the size limit. */
export function encodeBody(body: unknown): string {
  if (body === undefined)
    throw new BadMessageError('the message is undefined; send null or a value');
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch (err) {
    throw new BadMessageError('it cannot be serialized as JSON', { cause: err });
  }
  if (typeof text !== 'string') throw new BadMessageError(`a ${typeof body} is not JSON`);
  // jsonb refuses the NUL character; say so instead of failing in the database.
  if (text.includes('\\u0000')) throw new BadMessageError('it contains a NUL character (\\u0000)');
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_MESSAGE_BYTES) throw new MessageTooLargeError(bytes, MAX_MESSAGE_BYTES);
  return text;
}

/** A timeout in ms: undefined means wait for ever; otherwise a positive finite number. */
export function checkTimeout(ms: unknown, what = 'timeout'): number | undefined {
  if (ms === undefined) return undefined;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new BadOptionError(`${what} must be a positive number of milliseconds, got ${show(ms)}`);
  }
  return ms;
}

export function checkCount(n: unknown, what: string, max = 10_000): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw new BadOptionError(`${what} must be an integer from 1 to ${max}, got ${show(n)}`);
  }
  return n;
}

export function checkId(id: unknown): string | undefined {
  if (id === undefined) return undefined;
  if (typeof id !== 'string' || id.length === 0 || id.length > 200 || id.includes('\0')) {
    throw new BadOptionError('message id must be a string of 1-200 characters without NUL');
  }
  return id;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return v === null ? 'null' : typeof v;
}
