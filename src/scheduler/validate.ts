// Checks of caller input before it reaches SQL, so bad values get a message that names them.
import { SchedulerInvalidError } from './errors.js';

/** Largest payload accepted, as JSON text. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

export function name(what: string, v: unknown, pattern = /^[A-Za-z0-9._:-]{1,128}$/): string {
  if (typeof v !== 'string' || !pattern.test(v)) {
    throw new SchedulerInvalidError(
      `invalid ${what} ${JSON.stringify(v) ?? String(v)}: use 1-128 letters, digits, . _ : -`,
    );
  }
  return v;
}

export const kind = (v: unknown) => name('task kind', v, /^[A-Za-z0-9._:/-]{1,128}$/);

export function int(what: string, v: unknown, min: number, max = 2_147_483_647): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SchedulerInvalidError(
      `${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(v) ?? String(v)}`,
    );
  }
  return v;
}

export function optInt(what: string, v: unknown, min: number): number | null {
  return v === undefined || v === null ? null : int(what, v, min);
}

export function text(what: string, v: unknown, max = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || v.includes('\0')) {
    throw new SchedulerInvalidError(
      `${what} must be a non-empty string of at most ${max} characters without NUL`,
    );
  }
  return v;
}

export function payload(v: unknown): string | null {
  if (v === undefined) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(v);
  } catch (err) {
    throw new SchedulerInvalidError(`payload is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (json === undefined) throw new SchedulerInvalidError('payload is not JSON-serialisable');
  if (json.includes('\\u0000')) {
    throw new SchedulerInvalidError(
      'payload must not contain NUL characters (jsonb cannot hold them)',
    );
  }
  if (Buffer.byteLength(json) > MAX_PAYLOAD_BYTES) {
    throw new SchedulerInvalidError(
      `payload is ${Buffer.byteLength(json)} bytes as JSON; the limit is ${MAX_PAYLOAD_BYTES}`,
    );
  }
  return json;
}

export function taskId(v: unknown): string {
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
  if (typeof s !== 'string' || !/^[1-9][0-9]{0,18}$/.test(s)) {
    throw new SchedulerInvalidError(
      `invalid task id ${JSON.stringify(v) ?? String(v)}: a positive integer`,
    );
  }
  return s;
}
