import fsp from 'node:fs/promises';
import nodeOs from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

let env: Record<string, string>;
let tmp: string;

const fsCli = async (...args: string[]) => {
  const r = await runCli(['fs', ...args], env);
  return r;
};
const ok = async (...args: string[]) => {
  const r = await fsCli(...args);
  expect(r.stderr, args.join(' ')).toBe('');
  expect(r.code, args.join(' ')).toBe(0);
  return r.stdout;
};

beforeAll(async () => {
  env = { DATABASE_URL: await createTestDatabase() };
  tmp = await fsp.mkdtemp(path.join(nodeOs.tmpdir(), 'tableos-fscli-'));
  await fsp.mkdir(path.join(tmp, 'tree/sub'), { recursive: true });
  await fsp.writeFile(path.join(tmp, 'tree/a.txt'), 'alpha\n');
  await fsp.writeFile(path.join(tmp, 'tree/sub/b.log'), 'b'.repeat(3000));
  await fsp.writeFile(path.join(tmp, 'tree/.hidden'), 'h');
  await fsp.writeFile(path.join(tmp, 'one.txt'), 'one file\n');
});

afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('tableos fs utilities', () => {
  it('mkdir -p, put, put -r, cat', async () => {
    await ok('mkdir', '-p', '/srv/data');
    await ok('put', path.join(tmp, 'one.txt'), '/srv/data/one.txt');
    const put = await fsCli('put', '-r', '--progress', path.join(tmp, 'tree'), '/srv/tree');
    expect(put.code).toBe(0);
    expect(put.stderr).toMatch(/4\/4 entries|5\/5 entries/);
    expect(await ok('cat', '/srv/data/one.txt', '/srv/tree/a.txt')).toBe('one file\nalpha\n');
    // put into an existing directory keeps the local name
    await ok('put', path.join(tmp, 'one.txt'), '/srv');
    expect(await ok('cat', '/srv/one.txt')).toBe('one file\n');
  });

  it('ls, ls -a, ls -l, ls -R and ls -r', async () => {
    expect(await ok('ls', '/srv/tree')).toBe('a.txt\nsub\n');
    expect(await ok('ls', '-a', '/srv/tree')).toBe('.hidden\na.txt\nsub\n');
    const long = (await ok('ls', '-l', '/srv/tree')).split('\n');
    expect(long[0]).toMatch(/^-rw-r--r-- 1 0 0 6 \w{3} [ \d]\d \d\d:\d\d a\.txt$/);
    expect(long[1]).toMatch(/^drwxr-xr-x 2 0 0 0 .* sub$/);
    const rec = '/srv/tree:\na.txt\nsub\n\n/srv/tree/sub:\nb.log\n';
    expect(await ok('ls', '-R', '/srv/tree')).toBe(rec);
    expect(await ok('ls', '-r', '/srv/tree')).toBe(rec);
  });

  it('find with -name, -type, -size and -newer prints one path per line', async () => {
    expect(await ok('find', '/srv/tree')).toBe(
      '/srv/tree\n/srv/tree/.hidden\n/srv/tree/a.txt\n/srv/tree/sub\n/srv/tree/sub/b.log\n',
    );
    expect(await ok('find', '/srv', '-name', '*.txt')).toBe(
      '/srv/data/one.txt\n/srv/one.txt\n/srv/tree/a.txt\n',
    );
    expect(await ok('find', '/srv/tree', '-type', 'd')).toBe('/srv/tree\n/srv/tree/sub\n');
    expect(await ok('find', '/srv', '-type', 'f', '-size', '+2k')).toBe('/srv/tree/sub/b.log\n');
    await ok('put', path.join(tmp, 'one.txt'), '/srv/later.txt');
    // Imported files keep their local mtimes; single puts are stamped when they commit.
    expect(await ok('find', '/srv', '-type', 'f', '-newer', '/srv/data/one.txt')).toBe(
      '/srv/later.txt\n/srv/one.txt\n',
    );
  });

  it('stat, du, du -s, tree', async () => {
    const st = await ok('stat', '/srv/tree/sub/b.log');
    expect(st).toMatch(/Size: 3000\s+Inode: \d+\s+Links: 1\s+regular file/);
    expect(st).toMatch(/Access: \(0644\/-rw-r--r--\)\s+Uid: 0\s+Gid: 0/);
    expect(await ok('du', '-s', '/srv/tree')).toBe('3\t/srv/tree\n');
    expect(await ok('du', '-b', '/srv/tree')).toBe('3000\t/srv/tree/sub\n3007\t/srv/tree\n');
    expect(await ok('tree', '/srv/tree')).toBe(
      '/srv/tree\n├── a.txt\n└── sub\n    └── b.log\n\n1 directory, 2 files\n',
    );
  });

  it('mv, cp -r, rm, rm -r, get, get -r', async () => {
    await ok('mv', '/srv/later.txt', '/srv/data');
    expect(await ok('ls', '/srv/data')).toBe('later.txt\none.txt\n');
    await ok('cp', '-r', '/srv/tree', '/srv/copy');
    expect(await ok('cat', '/srv/copy/sub/b.log')).toBe('b'.repeat(3000));
    await ok('rm', '/srv/copy/a.txt');
    const rmDir = await fsCli('rm', '/srv/copy');
    expect(rmDir.code).toBe(1);
    expect(rmDir.stderr).toMatch(/EISDIR/);
    await ok('rm', '-r', '/srv/copy');
    expect(await ok('ls', '/srv')).toBe('data\none.txt\ntree\n');
    await ok('get', '/srv/data/one.txt', path.join(tmp, 'back.txt'));
    expect(await fsp.readFile(path.join(tmp, 'back.txt'), 'utf8')).toBe('one file\n');
    await ok('get', '-r', '/srv/tree', path.join(tmp, 'back-tree'));
    expect(await fsp.readFile(path.join(tmp, 'back-tree/sub/b.log'), 'utf8')).toBe(
      'b'.repeat(3000),
    );
    expect(await fsp.readFile(path.join(tmp, 'back-tree/.hidden'), 'utf8')).toBe('h');
  });

  it('query runs SQL over the fs views', async () => {
    const out = await ok(
      'query',
      "select path, size from fs_files where type = 'f' and path like '/srv/tree/%' order by size desc limit 2",
    );
    expect(out).toBe(
      '        path         | size\n---------------------+------\n /srv/tree/sub/b.log | 3000\n /srv/tree/a.txt     | 6\n(2 rows)\n',
    );
    const json = await ok(
      'query',
      '--json',
      "select count(*)::int as n from fs_files where path like '/srv/tree/%'",
    );
    expect(JSON.parse(json)).toEqual({ n: 4 });
    const write = await fsCli('query', 'delete from fs_inode');
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(/read-only transaction/);
  });

  it('reports errors like Unix tools: message and exit status', async () => {
    const missing = await fsCli('cat', '/srv/nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "tableos: ENOENT: no such file or directory, '/srv/nope' [TABLEOS_FS_ENOENT]\n",
    );
    const denied = await fsCli('--uid', '1000', 'mkdir', '/srv/x');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/EACCES: permission denied/);
    const escape = await fsCli('ls', '/srv/../..');
    expect(escape.code).toBe(1);
    expect(escape.stderr).toMatch(/EINVAL: path escapes the root/);
    expect((await fsCli('ls', '--bogus')).code).toBe(2);
    expect((await fsCli('find', '/srv', '-bogus', 'x')).code).toBe(1);
  });
});
