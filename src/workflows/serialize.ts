// How workflow inputs, outputs and recorded values are stored: JSON text, with tagged objects
// for Date, BigInt, Map, Set, Uint8Array, Error, undefined and non-finite numbers.
import { InternalError, TableOSError, errorMessage } from '../kernel/errors.js';
import {
  RecordedError,
  WorkflowPayloadTooLargeError,
  WorkflowSerializationError,
  WorkflowRecoveryLimitError,
} from './errors.js';

/** The largest serialized value (input, output, step result, event) a workflow may store. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

const TAG = '$t';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** `what` names the whole value (e.g. "result of step x") in the error about a part of it. */
function encode(v: unknown, path: string, seen: Set<object>, what: string): Json {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : { [TAG]: 'Number', v: String(v) };
    case 'bigint':
      return { [TAG]: 'BigInt', v: v.toString() };
    case 'undefined':
      return { [TAG]: 'undefined' };
    case 'function':
    case 'symbol':
      throw new WorkflowSerializationError(what, `${path} is a ${typeof v}`);
  }
  if (v === null) return null;
  const o = v as object;
  if (seen.has(o))
    throw new WorkflowSerializationError(what, `${path} refers back to itself (a cycle)`);
  seen.add(o);
  try {
    if (Array.isArray(o)) return o.map((x, i) => encode(x, `${path}[${i}]`, seen, what));
    if (o instanceof Date) {
      return { [TAG]: 'Date', v: Number.isNaN(o.getTime()) ? null : o.toISOString() };
    }
    if (o instanceof Map) {
      return {
        [TAG]: 'Map',
        v: [...o.entries()].map(([k, x], i) => [
          encode(k, `${path}<key ${i}>`, seen, what),
          encode(x, `${path}<value ${i}>`, seen, what),
        ]),
      };
    }
    if (o instanceof Set) {
      return { [TAG]: 'Set', v: [...o].map((x, i) => encode(x, `${path}<${i}>`, seen, what)) };
    }
    if (o instanceof Uint8Array) {
      return {
        [TAG]: 'Uint8Array',
        v: Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64'),
      };
    }
    if (o instanceof Error) {
      const e = o as Error & { code?: unknown; cause?: unknown };
      const out: { [k: string]: Json } = { [TAG]: 'Error', name: e.name, message: e.message };
      if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
      // An HTTP status the error answers with (the gateway's HttpStatusError).
      const status = (e as { status?: unknown }).status;
      if (typeof status === 'number' && Number.isInteger(status)) out.status = status;
      if (e.stack !== undefined) out.stack = e.stack;
      if (e.cause !== undefined) {
        try {
          out.cause = encode(e.cause, `${path}.cause`, seen, what);
        } catch {
          out.cause = e.cause instanceof Error ? e.cause.message : typeof e.cause;
        }
      }
      return out;
    }
    const proto = Object.getPrototypeOf(o) as object | null;
    if (proto !== Object.prototype && proto !== null) {
      const name = (o.constructor as { name?: string } | undefined)?.name ?? 'unknown';
      throw new WorkflowSerializationError(what, `${path} is an instance of class ${name}`);
    }
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(o)) out[k] = encode(x, `${path}.${k}`, seen, what);
    // A plain object that itself has the tag key is wrapped so it is not read back as a tag.
    return TAG in out ? { [TAG]: 'Object', v: out } : out;
  } finally {
    seen.delete(o);
  }
}

function decode(j: unknown): unknown {
  if (j === null || typeof j !== 'object') return j;
  if (Array.isArray(j)) return j.map(decode);
  const o = j as Record<string, unknown>;
  const tag = o[TAG];
  if (tag === undefined) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = decode(x);
    return out;
  }
  switch (tag) {
    case 'undefined':
      return undefined;
    case 'Number':
      return Number(o.v);
    case 'BigInt':
      return BigInt(o.v as string);
    case 'Date':
      return new Date(o.v === null ? NaN : (o.v as string));
    case 'Map':
      return new Map((o.v as [unknown, unknown][]).map(([k, x]) => [decode(k), decode(x)]));
    case 'Set':
      return new Set((o.v as unknown[]).map(decode));
    case 'Uint8Array':
      return new Uint8Array(Buffer.from(o.v as string, 'base64'));
    case 'Object': {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o.v as object)) out[k] = decode(x);
      return out;
    }
    case 'Error':
      return decodeError(o);
    default:
      throw new InternalError(`unknown stored type tag ${JSON.stringify(tag)}`);
  }
}

function decodeError(o: Record<string, unknown>): Error {
  const message = typeof o.message === 'string' ? o.message : '';
  const code = o.code;
  // TableOS errors come back as TableOSError with their code, so callers can branch on it;
  // the one the database records itself comes back as its class.
  const err: Error & { code?: unknown } =
    code === 'TABLEOS_WORKFLOW_RECOVERY_LIMIT'
      ? new WorkflowRecoveryLimitError(message)
      : typeof code === 'string' && code.startsWith('TABLEOS_')
        ? new TableOSError(code, message)
        : new RecordedError(message);
  if (typeof o.name === 'string') err.name = o.name;
  if (code !== undefined && !(err instanceof TableOSError)) err.code = code;
  if (typeof o.status === 'number') (err as { status?: number }).status = o.status;
  if (typeof o.stack === 'string') err.stack = o.stack;
  if (o.cause !== undefined) (err as { cause?: unknown }).cause = decode(o.cause);
  return err;
}

/**
 * Serializes a value for storage; undefined becomes SQL null. Throws WorkflowSerializationError
 * naming `what` and the offending path, or WorkflowPayloadTooLargeError past MAX_PAYLOAD_BYTES.
 */
export function serialize(v: unknown, what: string, limit = MAX_PAYLOAD_BYTES): string | null {
  if (v === undefined) return null;
  let text: string;
  try {
    text = JSON.stringify(encode(v, 'value', new Set(), what));
  } catch (err) {
    if (err instanceof WorkflowSerializationError) throw err;
    throw new WorkflowSerializationError(what, errorMessage(err));
  }
  // Cheap bound first: a UTF-8 byte is at least one UTF-16 unit and at most three.
  if (text.length * 3 > limit) {
    const bytes = Buffer.byteLength(text);
    if (bytes > limit) throw new WorkflowPayloadTooLargeError(what, bytes, limit);
  }
  return text;
}

export function deserialize(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  return decode(JSON.parse(text));
}

/** Serializes an error for storage; never throws (an unserializable error is stored as its message). */
export function serializeError(err: unknown): string {
  try {
    return (
      serialize(err instanceof Error ? err : new RecordedError(String(err)), 'error') ?? 'null'
    );
  } catch {
    return JSON.stringify({ [TAG]: 'Error', name: 'Error', message: String(err) });
  }
}

export function deserializeError(text: string | null | undefined): Error {
  const v = deserialize(text);
  return v instanceof Error ? v : new RecordedError(String(v));
}
