// Node streams over file data: a file of any size moves in block-aligned chunks, a few in
// flight at once, never whole in memory. Each chunk is written at its own offset, so a chunk
// retried after a lost connection lands on the same bytes again.
import { Readable, Writable } from 'node:stream';
import type { FileSystem } from './file-system.js';
import type { FileHandle } from './file-handle.js';

export const BLOCK_SIZE = 256 * 1024;
/** Bytes per call: 4 blocks. */
export const CHUNK_SIZE = 4 * BLOCK_SIZE;
const IN_FLIGHT = 4;

export interface ReadStreamOptions {
  start?: number;
  /** Inclusive, like Node's fs.createReadStream. */
  end?: number;
  chunkSize?: number;
}

export function createReadStream(
  fs: FileSystem,
  path: string,
  opts: ReadStreamOptions = {},
): Readable {
  const chunk = opts.chunkSize ?? CHUNK_SIZE;
  let handle: FileHandle | undefined;
  let next = opts.start ?? 0;
  const end = opts.end === undefined ? Infinity : opts.end + 1;
  const ahead: Promise<Buffer>[] = [];
  let eof = false;
  const fetch = () => {
    if (eof || next >= end) return;
    const len = Math.min(chunk, end - next);
    ahead.push(handle!.read(next, len));
    next += len;
  };
  return new Readable({
    highWaterMark: chunk,
    construct(cb) {
      fs.open(path, 'r').then(
        (h) => {
          handle = h;
          cb();
        },
        (err: Error) => cb(err),
      );
    },
    read() {
      while (ahead.length < IN_FLIGHT && !eof && next < end) fetch();
      const first = ahead.shift();
      if (first === undefined) {
        this.push(null);
        return;
      }
      first.then(
        (buf) => {
          if (buf.length < chunk) {
            eof = true;
            // Reads past the end are not needed; one that fails later (the file was removed
            // once this stream ended) must not become an unhandled rejection.
            for (const p of ahead.splice(0)) void p.catch(() => undefined);
          }
          if (buf.length > 0) this.push(buf);
          if (eof || buf.length === 0) this.push(null);
        },
        (err: Error) => this.destroy(err),
      );
    },
    destroy(err, cb) {
      for (const p of ahead.splice(0)) void p.catch(() => undefined);
      cb(err);
    },
  });
}

export interface WriteStreamOptions {
  mode?: number;
  /** 'w' (create or truncate, the default), 'wx' (must not exist) or 'a' (append). */
  flags?: 'w' | 'wx' | 'a';
}

/** Writes block-aligned chunks at increasing offsets, several calls in flight; 'finish' means all committed. */
export function createWriteStream(
  fs: FileSystem,
  path: string,
  opts: WriteStreamOptions = {},
): Writable {
  let handle: FileHandle | undefined;
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const inFlight = new Set<Promise<unknown>>();
  let failure: Error | undefined;

  const send = async (buf: Buffer) => {
    // Never an append, even for flags 'a': the offset is explicit (see construct).
    const p = handle!.caller.run('fs_pwrite', [handle!.ino, offset, buf, false], {
      after: 'fs:stream-after-chunk',
    });
    offset += buf.length;
    const tracked: Promise<void> = p.then(
      () => {
        inFlight.delete(tracked);
      },
      (err: Error) => {
        failure ??= err;
        inFlight.delete(tracked);
      },
    );
    inFlight.add(tracked);
    while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if (failure) throw failure;
  };
  const flushFull = async () => {
    while (pendingBytes >= CHUNK_SIZE) {
      const all = Buffer.concat(pending, pendingBytes);
      const head = all.subarray(0, CHUNK_SIZE);
      const rest = all.subarray(CHUNK_SIZE);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
      await send(head);
    }
  };
  return new Writable({
    highWaterMark: CHUNK_SIZE,
    construct(cb) {
      const flags = opts.flags ?? 'w';
      (async () => {
        handle = await fs.open(path, flags, opts.mode ?? 0o644);
        if (flags === 'a') {
          // Chunks go out concurrently, so they carry explicit offsets from the current end.
          offset = (await handle.stat()).size;
          handle = await fs.open(path, 'r+');
        }
      })().then(() => cb(), cb);
    },
    write(chunk: Buffer, _enc, cb) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      flushFull().then(() => cb(), cb);
    },
    final(cb) {
      const rest = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      (async () => {
        if (rest.length > 0) await send(rest);
        await Promise.all(inFlight);
        if (failure) throw failure;
      })().then(() => cb(), cb);
    },
  });
}
