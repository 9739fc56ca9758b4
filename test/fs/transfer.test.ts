import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fsp from 'node:fs/promises';
import nodeOs from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  exportTree,
  importTree,
  type FileSystem,
  type FsTransferProgress as Progress,
} from '../../src/fs/index.js';
import type { TableOS } from '../../src/tableos.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { runFixture, type FixtureExit } from '../support/spawn.js';
import { sha } from './helpers.js';

// A real tree from this machine. /usr/include/linux (about 800 entries, 6.5 MB) stands in
// for all of /usr/include (129 MB) to keep the suite fast; the code path is the same.
const TREE = '/usr/include/linux';
const FIXTURE = fileURLToPath(new URL('./fixtures/transfer.ts', import.meta.url));

let url: string;
let os: TableOS;
let root: FileSystem;

beforeAll(async () => {
  url = await createTestDatabase();
  os = await openTestOS({ databaseUrl: url, executor: false });
  root = os.fs;
});

/** `find DIR` output as paths relative to DIR, sorted. */
function localFind(dir: string): string[] {
  const out = execFileSync('find', [dir], { maxBuffer: 1 << 26 })
    .toString()
    .trim()
    .split('\n');
  return out.map((p) => p.slice(dir.length) || '/').sort();
}

async function localHashes(dir: string): Promise<Map<string, string>> {
  const files = execFileSync('find', [dir, '-type', 'f'], { maxBuffer: 1 << 26 })
    .toString()
    .trim()
    .split('\n');
  const m = new Map<string, string>();
  for (const f of files) m.set(f.slice(dir.length), sha(await fsp.readFile(f)));
  return m;
}

function runChild(args: string[], fault?: string): Promise<FixtureExit> {
  return runFixture(FIXTURE, {
    args,
    env: { DATABASE_URL: url, TABLEOS_FAULT: fault === undefined ? undefined : `fs:${fault}` },
  });
}

describe('tree import and export', () => {
  it(`imports ${TREE}: find listing and every file hash equal the original`, async () => {
    const seen: Progress[] = [];
    const p = await importTree(root, TREE, '/inc/linux', { onProgress: (x) => seen.push(x) });
    const expected = localFind(TREE);
    expect(p.totalEntries).toBe(expected.length);
    expect(seen.at(-1)).toMatchObject({ entries: expected.length, bytes: p.totalBytes });
    const walked = (await root.walk('/inc/linux')).map(
      (e) => e.path.slice('/inc/linux'.length) || '/',
    );
    expect(walked.sort()).toEqual(expected);
    const want = await localHashes(TREE);
    expect(want.size).toBeGreaterThan(500);
    const files = await root.find('/inc/linux', { type: 'f' });
    expect(files.length).toBe(want.size);
    for (const f of files) {
      expect(sha(await root.readFile(f)), f).toBe(want.get(f.slice('/inc/linux'.length)));
    }
    // Modes and modification times travel too.
    const st = await fsp.stat(path.join(TREE, 'types.h'));
    const mine = await root.stat('/inc/linux/types.h');
    expect(mine.mode).toBe(st.mode & 0o7777);
    expect(mine.mtime.getTime()).toBe(st.mtime.getTime());
  }, 120_000);

  it('exports the tree back to disk unchanged', async () => {
    const out = await fsp.mkdtemp(path.join(nodeOs.tmpdir(), 'tableos-export-'));
    try {
      await exportTree(root, '/inc/linux', path.join(out, 'linux'));
      expect(localFind(path.join(out, 'linux'))).toEqual(localFind(TREE));
      expect(await localHashes(path.join(out, 'linux'))).toEqual(await localHashes(TREE));
    } finally {
      await fsp.rm(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('killed after its first batch, an import leaves whole files only, and a rerun completes it', async () => {
    const r = await runChild(['import', TREE, '/crash/linux'], 'import-after-batch');
    expect(r.signal).toBe('SIGKILL');
    const want = await localHashes(TREE);
    const files = await root.find('/crash/linux', { type: 'f' });
    // The first batch (500 entries, directories included) committed; nothing after it.
    expect(files.length).toBeGreaterThan(0);
    expect(files.length).toBeLessThan(want.size);
    for (const f of files)
      expect(sha(await root.readFile(f))).toBe(want.get(f.slice('/crash/linux'.length)));
    const again = await runChild(['import', TREE, '/crash/linux']);
    expect(again.code).toBe(0);
    expect((await root.find('/crash/linux', { type: 'f' })).length).toBe(want.size);
  }, 120_000);

  it('killed mid-stream, a large write leaves whole committed chunks and zeros elsewhere', async () => {
    await root.mkdir('/crash', { parents: true });
    const r = await runChild(['stream', '/crash/stream.bin'], 'stream-after-chunk');
    expect(r.signal).toBe('SIGKILL');
    const data = await root.readFile('/crash/stream.bin');
    expect(data.length % (1024 * 1024)).toBe(0);
    expect(data.length).toBeGreaterThan(0);
    expect(data.length).toBeLessThan(8 * 1024 * 1024);
    // Chunks go out several at a time, so a later one may have committed before an earlier
    // one: each 1 MiB region is either entirely its data or (never written) zeros.
    const unit = crypto.createHash('sha256').update('seed').digest();
    const mib = 1024 * 1024;
    const chunk = Buffer.concat(Array.from({ length: mib / 32 }, () => unit));
    let written = 0;
    for (let at = 0; at < data.length; at += mib) {
      const region = data.subarray(at, at + mib);
      if (region.equals(chunk)) written++;
      else expect(region.every((b) => b === 0)).toBe(true);
    }
    expect(written).toBeGreaterThan(0);
  }, 60_000);
});
