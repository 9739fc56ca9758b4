import { beforeAll, describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/fs/index.js';
import type { TableOS } from '../../src/tableos.js';
import { expectErrno, openFs, snapshot } from './helpers.js';

let os: TableOS;
let root: FileSystem;

beforeAll(async () => {
  ({ os, root } = await openFs());
  await root.mkdir('/d/sub', { parents: true });
  await root.create('/d/file', 'content');
});

describe('bad input gets a POSIX error and leaves the state as it was', () => {
  it('refuses bad paths', async () => {
    const before = await snapshot(os);
    const long = 'n'.repeat(256);
    const cases: [() => Promise<unknown>, string][] = [
      [() => root.create('/d/../../escape', 'x'), 'EINVAL'],
      [() => root.mkdir('/..', { parents: true }), 'EINVAL'],
      [() => root.create('', 'x'), 'EINVAL'],
      [() => root.create('relative/path', 'x'), 'EINVAL'],
      [() => root.create('/d/a\0b', 'x'), 'EINVAL'],
      [() => root.create(`/d/${long}`, 'x'), 'ENAMETOOLONG'],
      [() => root.create(`/d/${'é'.repeat(128)}`, 'x'), 'ENAMETOOLONG'], // 256 bytes in UTF-8
      [() => root.create('/d/' + 'abcdefg/'.repeat(520), 'x'), 'ENAMETOOLONG'],
      [() => root.mkdir('/d/x/y/' + 'z'.repeat(300), { parents: true }), 'ENAMETOOLONG'],
      [() => root.create('/', 'x'), 'EEXIST'],
      [() => root.writeFile('/d', 'x'), 'EISDIR'],
      [() => root.write('/d/sub', 0, 'x'), 'EISDIR'],
      [() => root.readFile('/d'), 'EISDIR'],
      [() => root.readFile('/d/missing'), 'ENOENT'],
      [() => root.readFile('/d/file/below'), 'ENOTDIR'],
      [() => root.write('/d/file', -1, 'x'), 'EINVAL'],
      [() => root.read('/d/file', 0, 65 * 1024 * 1024), 'EINVAL'],
      [() => root.truncate('/d/file', -5), 'EINVAL'],
      [() => root.mkdir('/d/bad', { mode: 0o70000 }), 'EINVAL'],
      [() => root.create(42 as unknown as string, 'x'), 'EINVAL'],
      [() => root.create('/d/obj', { not: 'data' } as unknown as string), 'EINVAL'],
      [() => root.symlink('', '/d/empty-link'), 'EINVAL'],
      [() => root.rename('/d', '/d/sub/d'), 'EINVAL'],
      [() => root.rename('/', '/x'), 'EBUSY'],
      [() => root.open('/d/file', 'rw' as 'r'), 'EINVAL'],
      [() => root.find('/d', { size: 'big' }), 'EINVAL'],
    ];
    for (const [p, errno] of cases) await expectErrno(p(), errno);
    expect(await snapshot(os)).toBe(before);
  });

  it('treats hostile names as plain names', async () => {
    const names = [
      "x'; drop table tableos.fs_inode; --",
      '$1',
      '%_*?[]',
      'with space',
      'ünï😀',
      '-n',
    ];
    for (const n of names) await root.create(`/d/${n}`, n);
    const listed = (await root.readdir('/d')).map((e) => e.name);
    for (const n of names) expect(listed).toContain(n);
    for (const n of names) expect((await root.readFile(`/d/${n}`)).toString()).toBe(n);
    expect(await root.find('/d', { name: '%_*' })).toEqual(['/d/%_*?[]']);
    expect(await root.find('/d', { name: '\\$1' })).toEqual(['/d/$1']);
    expect(await root.find('/d', { name: '[-]n' })).toEqual(['/d/-n']);
  });

  it('collapses repeated slashes and dots like POSIX', async () => {
    expect((await root.readFile('//d/./sub/..//file')).toString()).toBe('content');
    expect((await root.stat('/d/sub/')).type).toBe('directory');
  });
});
