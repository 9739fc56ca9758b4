import { beforeAll, describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/fs/index.js';
import type { TableOS } from '../../src/tableos.js';
import { expectErrno, openFs, pathMismatches } from './helpers.js';

let os: TableOS;
let root: FileSystem;

beforeAll(async () => {
  ({ os, root } = await openFs());
});

describe('files and directories', () => {
  it('creates, reads, stats and lists', async () => {
    expect(await root.mkdir('/ops/a/b', { parents: true })).toBeGreaterThan(1);
    await root.create('/ops/a/b/f.txt', 'hello');
    expect((await root.readFile('/ops/a/b/f.txt')).toString()).toBe('hello');
    const st = await root.stat('/ops/a/b/f.txt');
    expect(st).toMatchObject({ type: 'file', size: 5, mode: 0o644, uid: 0, gid: 0, nlink: 1 });
    const dir = await root.stat('/ops/a');
    expect(dir).toMatchObject({ type: 'directory', nlink: 3, mode: 0o755 });
    expect(await root.readdir('/ops/a/b')).toEqual([{ name: 'f.txt', ino: st.ino, type: 'file' }]);
    await expectErrno(root.create('/ops/a/b/f.txt', 'again'), 'EEXIST');
    await expectErrno(root.mkdir('/ops/a'), 'EEXIST');
    expect(await root.mkdir('/ops/a', { parents: true })).toBe(dir.ino);
    await expectErrno(root.mkdir('/ops/a/b/f.txt/c', { parents: true }), 'ENOTDIR');
    await expectErrno(root.mkdir('/ops/nope/x'), 'ENOENT');
  });

  it('writes at offsets with holes, appends and truncates', async () => {
    await root.writeFile('/ops/w', 'abc');
    expect(await root.write('/ops/w', 1, 'XY')).toBe(3);
    expect((await root.readFile('/ops/w')).toString()).toBe('aXY');
    // Past the end and across a 256 KiB block boundary: the gap reads as zeros.
    const far = 262144 + 10;
    expect(await root.write('/ops/w', far, 'END')).toBe(far + 3);
    const all = await root.readFile('/ops/w');
    expect(all.length).toBe(far + 3);
    expect(all.subarray(0, 3).toString()).toBe('aXY');
    expect(all.subarray(3, far).every((b) => b === 0)).toBe(true);
    expect(all.subarray(far).toString()).toBe('END');
    expect(await root.appendFile('/ops/w', '!')).toBe(far + 4);
    expect((await root.read('/ops/w', far, 100)).toString()).toBe('END!');
    await root.truncate('/ops/w', 2);
    expect((await root.readFile('/ops/w')).toString()).toBe('aX');
    // Growing after a cut must not bring old bytes back.
    await root.truncate('/ops/w', 5);
    expect([...(await root.readFile('/ops/w'))]).toEqual([0x61, 0x58, 0, 0, 0]);
    expect(await root.appendFile('/ops/new-by-append', 'x')).toBe(1);
    expect((await root.read('/ops/w', 100, 10)).length).toBe(0);
  });

  it('replaces content with writeFile and opens handles with flags', async () => {
    await root.writeFile('/ops/h', 'first version');
    await root.writeFile('/ops/h', 'v2');
    expect((await root.readFile('/ops/h')).toString()).toBe('v2');
    const h = await root.open('/ops/h', 'r+');
    expect(await h.write(2, '-more')).toBe(7);
    expect((await h.read(0, 100)).toString()).toBe('v2-more');
    expect((await h.stat()).size).toBe(7);
    await h.truncate(1);
    await h.close();
    await expectErrno(h.read(0, 1), 'EINVAL');
    const a = await root.open('/ops/h', 'a');
    expect(await a.write(0, 'Z')).toBe(2);
    expect((await root.readFile('/ops/h')).toString()).toBe('vZ');
    await expectErrno(root.open('/ops/h', 'wx'), 'EEXIST');
    await expectErrno(root.open('/ops/missing', 'r'), 'ENOENT');
    const w = await root.open('/ops/h', 'w');
    expect((await w.stat()).size).toBe(0);
    await expectErrno(root.open('/ops', 'w'), 'EISDIR');
  });

  it('renames files and directories, replacing targets like POSIX', async () => {
    await root.mkdir('/mv/d1/sub', { parents: true });
    await root.create('/mv/d1/sub/f', 'data');
    await root.rename('/mv/d1', '/mv/d2');
    expect((await root.readFile('/mv/d2/sub/f')).toString()).toBe('data');
    await expectErrno(root.stat('/mv/d1'), 'ENOENT');
    await root.create('/mv/x', 'x');
    await root.create('/mv/y', 'y');
    await root.rename('/mv/x', '/mv/y');
    expect((await root.readFile('/mv/y')).toString()).toBe('x');
    await expectErrno(root.rename('/mv/d2', '/mv/d2/sub/inside'), 'EINVAL');
    await expectErrno(root.rename('/mv/d2', '/mv/y'), 'ENOTDIR');
    await expectErrno(root.rename('/mv/y', '/mv/d2'), 'EISDIR');
    await root.mkdir('/mv/empty');
    await root.rename('/mv/d2/sub', '/mv/empty');
    expect((await root.readFile('/mv/empty/f')).toString()).toBe('data');
    await root.mkdir('/mv/full/z', { parents: true });
    await expectErrno(root.rename('/mv/empty', '/mv/full'), 'ENOTEMPTY');
    await expectErrno(root.rename('/mv/none', '/mv/other'), 'ENOENT');
    // Directory link counts follow the moves: /mv holds d2, empty, full.
    expect((await root.stat('/mv')).nlink).toBe(5);
    expect((await root.stat('/mv/d2')).nlink).toBe(2);
    await root.rename('/mv/y', '/mv/y'); // same entry: nothing happens
    expect((await root.readFile('/mv/y')).toString()).toBe('x');
  });

  it('unlinks, removes directories and whole trees', async () => {
    await root.mkdir('/rm/t/u', { parents: true });
    await root.create('/rm/t/u/f', 'x');
    await root.create('/rm/t/g', 'y');
    await root.link('/rm/t/g', '/rm/keep');
    await expectErrno(root.rmdir('/rm/t'), 'ENOTEMPTY');
    await expectErrno(root.unlink('/rm/t'), 'EISDIR');
    await expectErrno(root.rmdir('/rm/t/g'), 'ENOTDIR');
    await expectErrno(root.rm('/rm/t'), 'EISDIR');
    expect(await root.rm('/rm/t', { recursive: true })).toBe(4);
    await expectErrno(root.stat('/rm/t'), 'ENOENT');
    // The hard link outside the removed tree keeps the data.
    expect(await root.stat('/rm/keep')).toMatchObject({ nlink: 1, size: 1 });
    await root.unlink('/rm/keep');
    await root.rmdir('/rm');
    await expectErrno(root.rmdir('/'), 'EBUSY');
    const counts = await os.sql`select
      (select count(*)::int from tableos.fs_block b where not exists (select 1 from tableos.fs_inode i where i.ino = b.ino)) as orphan_blocks,
      (select count(*)::int from tableos.fs_dirent d where not exists (select 1 from tableos.fs_inode i where i.ino = d.ino)) as dangling`;
    expect(counts[0]).toEqual({ orphan_blocks: 0, dangling: 0 });
  });

  it('links, symlinks and readlink; loops are ELOOP', async () => {
    await root.mkdir('/ln/real', { parents: true });
    await root.create('/ln/real/file', 'content');
    await root.link('/ln/real/file', '/ln/hard');
    expect((await root.stat('/ln/hard')).nlink).toBe(2);
    await expectErrno(root.link('/ln/real', '/ln/dirlink'), 'EPERM');
    await expectErrno(root.link('/ln/real/file', '/ln/hard'), 'EEXIST');
    await root.symlink('real/file', '/ln/rel');
    await root.symlink('/ln/real', '/ln/abs');
    await root.symlink('../../ln/real/../real/file', '/ln/real/up');
    expect((await root.readFile('/ln/rel')).toString()).toBe('content');
    expect((await root.readFile('/ln/abs/file')).toString()).toBe('content');
    expect((await root.readFile('/ln/real/up')).toString()).toBe('content');
    expect(await root.readlink('/ln/rel')).toBe('real/file');
    expect((await root.lstat('/ln/rel')).type).toBe('symlink');
    expect((await root.stat('/ln/rel')).type).toBe('file');
    await expectErrno(root.readlink('/ln/hard'), 'EINVAL');
    await root.symlink('/ln/loop2', '/ln/loop1');
    await root.symlink('/ln/loop1', '/ln/loop2');
    await expectErrno(root.readFile('/ln/loop1'), 'ELOOP');
    await root.symlink('/ln/missing', '/ln/dangling');
    await expectErrno(root.stat('/ln/dangling'), 'ENOENT');
    expect((await root.lstat('/ln/dangling')).target).toBe('/ln/missing');
    // Writing through a dangling symlink creates its target, as O_CREAT does.
    await root.writeFile('/ln/dangling', 'made');
    expect((await root.readFile('/ln/missing')).toString()).toBe('made');
    await root.unlink('/ln/rel');
    expect((await root.readFile('/ln/real/file')).toString()).toBe('content');
  });

  it('changes mode, owner and times', async () => {
    await root.create('/attr', 'a');
    await root.chmod('/attr', 0o600);
    await root.chown('/attr', 1000, 100);
    const when = new Date('2020-01-02T03:04:05Z');
    await root.utimes('/attr', when, when);
    expect(await root.stat('/attr')).toMatchObject({
      mode: 0o600,
      uid: 1000,
      gid: 100,
      mtime: when,
      atime: when,
    });
    await root.chown('/attr', null, 0);
    expect((await root.stat('/attr')).gid).toBe(0);
    await expectErrno(root.chmod('/attr', 0o10000), 'EINVAL');
  });

  it('copies files and trees inside the file system', async () => {
    await root.mkdir('/cp/src/deep', { parents: true });
    await root.writeFile('/cp/src/deep/big', Buffer.alloc(600_000, 7));
    await root.symlink('deep/big', '/cp/src/ln');
    await expectErrno(root.copy('/cp/src', '/cp/dst'), 'EISDIR');
    expect(await root.copy('/cp/src', '/cp/dst', { recursive: true })).toBe(4);
    expect((await root.readFile('/cp/dst/deep/big')).equals(Buffer.alloc(600_000, 7))).toBe(true);
    expect(await root.readlink('/cp/dst/ln')).toBe('deep/big');
    expect((await root.stat('/cp/dst')).nlink).toBe(3);
    await expectErrno(root.copy('/cp/src', '/cp/src/deep/inner', { recursive: true }), 'EINVAL');
    await root.copy('/cp/src/deep/big', '/cp/one');
    await root.writeFile('/cp/two', 'old');
    await root.copy('/cp/src/deep/big', '/cp/two');
    expect((await root.stat('/cp/two')).size).toBe(600_000);
    // Copy into an existing directory lands under the source's name.
    await root.copy('/cp/one', '/cp/dst');
    expect((await root.stat('/cp/dst/one')).size).toBe(600_000);
    await root.writeFile('/cp/src/deep/big', 'changed');
    expect((await root.stat('/cp/dst/deep/big')).size).toBe(600_000);
  });

  it('walks, lists, finds and sums trees in one query each', async () => {
    await root.mkdir('/tr/a/b', { parents: true });
    await root.mkdir('/tr/a.c', { parents: true });
    await root.writeFile('/tr/a/x.txt', Buffer.alloc(2000));
    await root.writeFile('/tr/a/b/y.txt', Buffer.alloc(10));
    await root.writeFile('/tr/a/b/z.md', Buffer.alloc(600));
    const walk = await root.walk('/tr');
    expect(walk.map((e) => e.path)).toEqual([
      '/tr',
      '/tr/a',
      '/tr/a/b',
      '/tr/a/b/y.txt',
      '/tr/a/b/z.md',
      '/tr/a/x.txt',
      '/tr/a.c',
    ]);
    expect(walk.map((e) => e.depth)).toEqual([0, 1, 2, 3, 3, 2, 1]);
    expect((await root.walk('/tr', { maxDepth: 1 })).map((e) => e.name)).toEqual([
      'tr',
      'a',
      'a.c',
    ]);
    expect(await root.find('/tr', { name: '*.txt' })).toEqual(['/tr/a/b/y.txt', '/tr/a/x.txt']);
    expect(await root.find('/tr', { type: 'd' })).toEqual(['/tr', '/tr/a', '/tr/a/b', '/tr/a.c']);
    expect(await root.find('/tr', { type: 'f', size: '+1' })).toEqual([
      '/tr/a/b/z.md',
      '/tr/a/x.txt',
    ]);
    expect(await root.find('/tr', { type: 'f', size: '-601c' })).toEqual([
      '/tr/a/b/y.txt',
      '/tr/a/b/z.md',
    ]);
    expect(await root.find('/tr', { size: '2k' })).toEqual(['/tr/a/x.txt']);
    await root.utimes('/tr/a/x.txt', new Date(0), new Date(0));
    await root.utimes('/tr/a/b/y.txt', new Date(1000), new Date(1000));
    expect(await root.find('/tr', { type: 'f', newer: '/tr/a/b/y.txt' })).toEqual(['/tr/a/b/z.md']);
    expect(await root.du('/tr', { summary: true })).toEqual([{ path: '/tr', bytes: 2610 }]);
    expect(await root.du('/tr')).toEqual([
      { path: '/tr', bytes: 2610 },
      { path: '/tr/a', bytes: 2610 },
      { path: '/tr/a/b', bytes: 610 },
      { path: '/tr/a.c', bytes: 0 },
    ]);
    const list = await root.list('/tr/a', { maxDepth: 1 });
    expect(list.map((e) => [e.name, e.type, e.size])).toEqual([
      ['a', 'directory', 0],
      ['b', 'directory', 0],
      ['x.txt', 'file', 2000],
    ]);
  });

  it('answers analytic questions from the views', async () => {
    await root.mkdir('/q/srv', { parents: true });
    for (const [name, size, uid] of [
      ['s1', 100, 1],
      ['s2', 300, 2],
      ['s3', 200, 1],
    ] as const) {
      await root.writeFile(`/q/srv/${name}`, Buffer.alloc(size));
      await root.chown(`/q/srv/${name}`, uid);
    }
    await root.utimes('/q/srv/s2', new Date(0), new Date(0));
    const rows = await os.sql<{ uid: number; path: string; size: string }[]>`
      select uid, path, size from tableos.fs_files
       where path like '/q/srv/%' and type = 'f' and mtime > now() - interval '7 days'
       order by size desc limit 10`;
    expect(rows.map((r): unknown[] => [r.uid, r.path, Number(r.size)])).toEqual([
      [1, '/q/srv/s3', 200],
      [1, '/q/srv/s1', 100],
    ]);
    // Files created through a symlinked directory are stored under the real path.
    await root.symlink('/q/srv', '/q/link');
    await Promise.all([root.create('/q/link/s4', 'x'), root.create('/q/link/s5', 'y')]);
    expect((await root.find('/q/srv', { name: 's[45]' })).length).toBe(2);
    expect(await pathMismatches(os)).toBe(0);
    await root.unlink('/q/link/s4');
    await root.unlink('/q/link/s5');
    await root.unlink('/q/link');
    // Paths follow directory renames, for everything below.
    await root.rename('/q/srv', '/q/var');
    const moved = await os.sql<{ path: string }[]>`
      select path from tableos.fs_files where path like '/q/%' order by path`;
    expect(moved.map((r) => r.path)).toEqual(['/q/var', '/q/var/s1', '/q/var/s2', '/q/var/s3']);
    expect(await pathMismatches(os)).toBe(0);
  });
});
