// Tree import and export between the local disk and TableOS: small files travel in batches
// (one transaction per batch), large ones through streams; progress is reported as it goes.
import { createReadStream as localRead, createWriteStream as localWrite } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FileSystem } from './file-system.js';
import { joinPath } from './path.js';
import { createReadStream, createWriteStream } from './streams.js';

/** Files above this size are streamed instead of batched. */
export const STREAM_THRESHOLD = 8 * 1024 * 1024;
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_ENTRIES = 500;

export interface Progress {
  entries: number;
  totalEntries: number;
  bytes: number;
  totalBytes: number;
}

export interface TransferOptions {
  onProgress?: (p: Progress) => void;
}

interface LocalEntry {
  rel: string;
  kind: 'd' | 'f' | 'l';
  mode: number;
  mtime: Date;
  size: number;
  target?: string;
}

async function scan(root: string): Promise<LocalEntry[]> {
  const out: LocalEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    const abs = rel === '' ? root : path.join(root, rel);
    const st = await fsp.lstat(abs);
    const mode = st.mode & 0o7777;
    if (st.isSymbolicLink()) {
      out.push({ rel, kind: 'l', mode, mtime: st.mtime, size: 0, target: await fsp.readlink(abs) });
    } else if (st.isDirectory()) {
      out.push({ rel, kind: 'd', mode, mtime: st.mtime, size: 0 });
      const names = (await fsp.readdir(abs)).sort();
      for (const n of names) await visit(rel === '' ? n : `${rel}/${n}`);
    } else if (st.isFile()) {
      out.push({ rel, kind: 'f', mode, mtime: st.mtime, size: st.size });
    }
  };
  await visit('');
  return out;
}

/** put -r: copies a local file or directory tree to remote (created or replaced). */
export async function importTree(
  fs: FileSystem,
  local: string,
  remote: string,
  opts: TransferOptions = {},
): Promise<Progress> {
  const entries = await scan(local);
  const p: Progress = {
    entries: 0,
    totalEntries: entries.length,
    bytes: 0,
    totalBytes: entries.reduce((a, e) => a + e.size, 0),
  };
  const target = (e: LocalEntry) => (e.rel === '' ? remote : joinPath(remote, e.rel));
  let batch: { e: LocalEntry; data: Buffer | null }[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    // Run once by token, so a retry after a lost reply leaves the batch as it committed.
    await fs.caller.run(
      'fs_put_many',
      [
        batch.map((b) => b.e.kind),
        batch.map((b) => target(b.e)),
        batch.map((b) => b.e.mode),
        // Dates as text: the driver would send a Date[] as one timestamp.
        batch.map((b) => b.e.mtime.toISOString()),
        Buffer.concat(batch.flatMap((b) => (b.data ? [b.data] : []))),
        batch.map((b) => b.data?.length ?? -1),
        batch.map((b) => b.e.target ?? null),
      ],
      { once: true, after: 'fs:import-after-batch' },
    );
    for (const b of batch) p.bytes += b.e.size;
    p.entries += batch.length;
    batch = [];
    batchBytes = 0;
    opts.onProgress?.({ ...p });
  };
  for (const e of entries) {
    const abs = e.rel === '' ? local : path.join(local, e.rel);
    if (e.kind === 'f' && e.size > STREAM_THRESHOLD) {
      await flush();
      await pipeline(localRead(abs), createWriteStream(fs, target(e), { mode: e.mode }));
      await fs.utimes(target(e), e.mtime, e.mtime);
      p.bytes += e.size;
      p.entries++;
      opts.onProgress?.({ ...p });
      continue;
    }
    const data = e.kind === 'f' ? await fsp.readFile(abs) : null;
    batch.push({ e, data });
    batchBytes += data?.length ?? 0;
    if (batchBytes >= BATCH_BYTES || batch.length >= BATCH_ENTRIES) await flush();
  }
  await flush();
  return p;
}

/** get -r: copies a remote file or tree to the local disk. */
export async function exportTree(
  fs: FileSystem,
  remote: string,
  local: string,
  opts: TransferOptions = {},
): Promise<Progress> {
  const entries = await fs.list(remote);
  const p: Progress = {
    entries: 0,
    totalEntries: entries.length,
    bytes: 0,
    totalBytes: entries.reduce((a, e) => a + (e.type === 'file' ? e.size : 0), 0),
  };
  const base = entries[0]?.path ?? remote;
  const dirModes: [string, number][] = [];
  let lastReport = 0;
  for (const e of entries) {
    const rel = e.path === base ? '' : e.path.slice(base === '/' ? 1 : base.length + 1);
    const abs = rel === '' ? local : path.join(local, rel);
    if (e.type === 'directory') {
      await fsp.mkdir(abs, { recursive: true, mode: 0o700 });
      dirModes.push([abs, e.mode]);
    } else if (e.type === 'symlink') {
      await fsp.rm(abs, { force: true });
      await fsp.symlink(e.target ?? '', abs);
    } else {
      if (e.size > STREAM_THRESHOLD) {
        await pipeline(createReadStream(fs, e.path), localWrite(abs, { mode: e.mode }));
      } else {
        await fsp.writeFile(abs, await fs.readFile(e.path), { mode: e.mode });
      }
      await fsp.chmod(abs, e.mode);
      await fsp.utimes(abs, e.mtime, e.mtime);
      p.bytes += e.size;
    }
    p.entries++;
    if (p.entries - lastReport >= 100 || e.size > STREAM_THRESHOLD) {
      lastReport = p.entries;
      opts.onProgress?.({ ...p });
    }
  }
  // Modes last, so read-only directories could still be filled.
  for (const [abs, mode] of dirModes.reverse()) await fsp.chmod(abs, mode);
  opts.onProgress?.({ ...p });
  return p;
}
