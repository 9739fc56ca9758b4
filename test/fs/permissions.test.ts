import { beforeAll, describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/fs/index.js';
import { InvalidArgumentError } from '../../src/kernel/errors.js';
import { expectErrno, openFs } from './helpers.js';

let root: FileSystem;
let ana: FileSystem; // uid 1000, groups 1000 and 50
let bob: FileSystem; // uid 1001, group 1001
let carl: FileSystem; // uid 1002, in group 50

beforeAll(async () => {
  ({ root } = await openFs());
  ana = root.as({ uid: 1000, gids: [1000, 50] });
  bob = root.as({ uid: 1001, gids: [1001] });
  carl = root.as({ uid: 1002, gids: [1002, 50] });
  await root.mkdir('/home/ana', { parents: true });
  await root.chown('/home/ana', 1000, 1000);
  await root.mkdir('/tmp', { mode: 0o1777 });
  await root.chmod('/tmp', 0o1777); // mkdir mode is taken as given, sticky bit included
});

describe('permissions by user and group', () => {
  it('lets owners work in their directory and keeps others out', async () => {
    await ana.create('/home/ana/notes', 'mine', { mode: 0o600 });
    expect(await ana.stat('/home/ana/notes')).toMatchObject({ uid: 1000, gid: 1000 });
    await expectErrno(bob.readFile('/home/ana/notes'), 'EACCES');
    await expectErrno(bob.create('/home/ana/intruder', 'x'), 'EACCES');
    await expectErrno(bob.unlink('/home/ana/notes'), 'EACCES');
    await expectErrno(bob.write('/home/ana/notes', 0, 'x'), 'EACCES');
    await expectErrno(bob.chmod('/home/ana/notes', 0o777), 'EPERM');
    // Root passes every check.
    expect((await root.readFile('/home/ana/notes')).toString()).toBe('mine');
  });

  it('uses the group bits for group members', async () => {
    await ana.create('/home/ana/shared', 'team', { mode: 0o640 });
    await ana.chown('/home/ana/shared', null, 50);
    expect((await carl.readFile('/home/ana/shared')).toString()).toBe('team');
    await expectErrno(carl.write('/home/ana/shared', 0, 'x'), 'EACCES');
    await expectErrno(bob.readFile('/home/ana/shared'), 'EACCES');
    // An owner may only give the file to one of its own groups, never to another user.
    await expectErrno(ana.chown('/home/ana/shared', null, 1001), 'EPERM');
    await expectErrno(ana.chown('/home/ana/shared', 1001, null), 'EPERM');
  });

  it('needs search permission on every directory of the path', async () => {
    await ana.mkdir('/home/ana/private', { mode: 0o700 });
    await ana.create('/home/ana/private/f', 'x', { mode: 0o644 });
    await expectErrno(bob.stat('/home/ana/private/f'), 'EACCES');
    await expectErrno(bob.readdir('/home/ana/private'), 'EACCES');
    await ana.chmod('/home/ana/private', 0o711); // search but not read
    expect((await bob.stat('/home/ana/private/f')).size).toBe(1);
    await expectErrno(bob.readdir('/home/ana/private'), 'EACCES');
  });

  it('hides unreadable directories from recursive listings and refuses rm -r under them', async () => {
    await ana.mkdir('/home/ana/vault', { mode: 0o700 });
    await ana.create('/home/ana/vault/secret', 's');
    await root.chmod('/home/ana', 0o755);
    const seen = (await bob.walk('/home/ana')).map((e) => e.path);
    expect(seen).toContain('/home/ana/vault');
    expect(seen).not.toContain('/home/ana/vault/secret');
    await root.chmod('/home/ana', 0o777);
    await expectErrno(bob.rm('/home/ana/vault', { recursive: true }), 'EACCES');
    expect((await root.readFile('/home/ana/vault/secret')).toString()).toBe('s');
  });

  it('honours the sticky bit on shared directories', async () => {
    await ana.create('/tmp/ana-file', 'a');
    await expectErrno(bob.unlink('/tmp/ana-file'), 'EACCES');
    await expectErrno(bob.rename('/tmp/ana-file', '/tmp/bob-now'), 'EACCES');
    await bob.create('/tmp/bob-file', 'b');
    await bob.unlink('/tmp/bob-file');
    await ana.unlink('/tmp/ana-file');
  });

  it('gives new files the group of a setgid directory', async () => {
    await root.mkdir('/proj', { mode: 0o2777 });
    await root.chown('/proj', 0, 77);
    await ana.create('/proj/f', 'x');
    expect((await ana.stat('/proj/f')).gid).toBe(77);
  });

  it('refuses malformed identities', () => {
    expect(() => root.as({ uid: -1 })).toThrow(InvalidArgumentError);
    expect(() => root.as({ uid: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => root.as({ uid: 1, gids: ['x' as unknown as number] })).toThrow(
      InvalidArgumentError,
    );
  });
});
