// Shared setup for fs tests: a TableOS on its own database and the root file system.
import crypto from 'node:crypto';
import { expect } from 'vitest';
import { type FileSystem } from '../../src/fs/index.js';
import type { TableOS } from '../../src/tableos.js';
import { openTestOS } from '../support/db.js';

export async function openFs(): Promise<{ os: TableOS; root: FileSystem }> {
  const os = await openTestOS({ executor: false, poolSize: 8 });
  return { os, root: os.fs };
}

/** Expects a promise to fail with the given POSIX code; returns the error. */
export async function expectErrno(p: Promise<unknown>, errno: string): Promise<Error> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as (Error & { errno?: string; code?: string }) | undefined;
  expect(err, `expected ${errno}`).toBeInstanceOf(Error);
  expect(err!.errno).toBe(errno);
  expect(err!.code).toBe(`TABLEOS_FS_${errno}`);
  return err!;
}

export function sha(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** A snapshot of all fs rows, to prove a failed call changed nothing. */
export async function snapshot(os: TableOS): Promise<string> {
  const rows = await os.sql`
    select (select json_agg(i order by i.ino) from tableos.fs_inode i) as inodes,
           (select json_agg(d order by d.parent, d.name) from tableos.fs_dirent d) as dirents,
           (select json_agg(json_build_array(b.ino, b.blkno, md5(b.data)) order by b.ino, b.blkno)
              from tableos.fs_block b) as blocks,
           (select json_agg(s order by s.ino) from tableos.fs_symlink s) as links`;
  return JSON.stringify(rows[0]);
}

/** Entries whose stored path disagrees with their directory's path and their name. */
export async function pathMismatches(os: TableOS): Promise<number> {
  const [row] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from tableos.fs_dirent d
     where d.path <> tableos.fs_join(tableos.fs_path_of(d.parent), d.name)`;
  return row!.n;
}
