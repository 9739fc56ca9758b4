// File data as the API takes it, and the size limit of one call.
import { FsInvalidError } from './errors.js';

export type Data = Buffer | Uint8Array | string;

/** Largest single read or write call; larger files go through streams. */
export const MAX_IO_BYTES = 64 * 1024 * 1024;

export function toBuffer(data: Data): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new FsInvalidError('EINVAL', 'EINVAL: data must be a Buffer, Uint8Array or string');
}

export function checkData(data: Data): Buffer {
  const buf = toBuffer(data);
  if (buf.length > MAX_IO_BYTES) {
    throw new FsInvalidError('EINVAL', 'EINVAL: a single write is limited to 64 MiB; use a stream');
  }
  return buf;
}
