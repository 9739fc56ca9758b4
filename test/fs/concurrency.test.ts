import { beforeAll, describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/fs/index.js';
import type { TableOS } from '../../src/tableos.js';
import { openFs, pathMismatches } from './helpers.js';

let os: TableOS;
let root: FileSystem;

beforeAll(async () => {
  ({ os, root } = await openFs());
});

/** Separate clients: each has its own batcher, so their calls are separate transactions. */
function clients(n: number): FileSystem[] {
  return Array.from({ length: n }, () => root.as({ uid: 0, gids: [0] }));
}

const errnoOf = (e: unknown) => (e as { errno?: string }).errno;

describe('concurrency', () => {
  it('renames atomically: a listing always shows exactly one of the two names', async () => {
    await root.mkdir('/ren');
    await root.create('/ren/a', 'payload');
    let stop = false;
    let moves = 0;
    const movers = clients(4).map(async (c, i) => {
      for (let k = 0; k < 40; k++) {
        const [from, to] = (k + i) % 2 === 0 ? ['/ren/a', '/ren/b'] : ['/ren/b', '/ren/a'];
        try {
          await c.rename(from, to);
          moves++;
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT') throw err;
        }
      }
    });
    const views: string[][] = [];
    const reader = (async () => {
      while (!stop) views.push((await root.readdir('/ren')).map((e) => e.name));
    })();
    await Promise.all(movers);
    stop = true;
    await reader;
    expect(moves).toBeGreaterThan(0);
    expect(views.length).toBeGreaterThan(0);
    for (const v of views) expect(v.length === 1 && (v[0] === 'a' || v[0] === 'b')).toBe(true);
    const [name] = (await root.readdir('/ren')).map((e) => e.name);
    expect((await root.readFile(`/ren/${name}`)).toString()).toBe('payload');
  });

  it('never builds a cycle from two crossing directory moves', async () => {
    for (let round = 0; round < 10; round++) {
      await root.mkdir(`/cyc${round}/x`, { parents: true });
      await root.mkdir(`/cyc${round}/y`);
      const [c1, c2] = clients(2);
      const results = await Promise.allSettled([
        c1!.rename(`/cyc${round}/x`, `/cyc${round}/y/x`),
        c2!.rename(`/cyc${round}/y`, `/cyc${round}/x/y`),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      expect(ok).toBe(1);
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(['EINVAL', 'ENOENT']).toContain(errnoOf(failed.reason));
      const paths = (await root.walk(`/cyc${round}`)).map((e) => e.path);
      expect(paths.length).toBe(3);
    }
    expect(await pathMismatches(os)).toBe(0);
  });

  it('keeps every concurrent write to one block (each patches the latest version of the row)', async () => {
    await root.create('/w', Buffer.alloc(16 * 1000, 0x2e));
    await Promise.all(
      clients(16).map((c, i) => c.write('/w', i * 1000, Buffer.alloc(1000, 0x41 + i))),
    );
    const data = await root.readFile('/w');
    expect(data.length).toBe(16_000);
    for (let i = 0; i < 16; i++) {
      expect(data.subarray(i * 1000, (i + 1) * 1000).every((b) => b === 0x41 + i)).toBe(true);
    }
  });

  it('writes different blocks concurrently into one consistent file', async () => {
    const bs = 262144;
    await root.create('/par', '');
    await Promise.all(
      clients(8).map((c, i) => c.write('/par', i * bs, Buffer.alloc(bs, 0x30 + i))),
    );
    const data = await root.readFile('/par');
    expect(data.length).toBe(8 * bs);
    for (let i = 0; i < 8; i++) {
      expect(data.subarray(i * bs, (i + 1) * bs).every((b) => b === 0x30 + i)).toBe(true);
    }
  });

  it('keeps stored paths right while directories move under concurrent creates', async () => {
    await root.mkdir('/mv0/a/b', { parents: true });
    const movers = (async () => {
      for (let k = 0; k < 10; k++) await root.rename(`/mv${k}`, `/mv${k + 1}`);
    })();
    const makers = clients(4).map(async (c, i) => {
      for (let k = 0; k < 15; k++) {
        // Whichever name the tree has now; a create that loses the race gets ENOENT.
        const dir = (await root.find('/', { name: 'mv*', maxDepth: 1 }))[0]!;
        await c.create(`${dir}/a/b/f${i}-${k}`, 'x').catch((err: unknown) => {
          if (errnoOf(err) !== 'ENOENT') throw err;
        });
      }
    });
    await Promise.all([movers, ...makers]);
    expect(await pathMismatches(os)).toBe(0);
    const files = await root.find('/mv10', { type: 'f' });
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => f.startsWith('/mv10/a/b/f'))).toBe(true);
  });

  it('loses no concurrent append', async () => {
    await root.create('/log', '');
    await Promise.all(
      clients(20).map((c, i) => c.appendFile('/log', `rec${String(i).padStart(3, '0')};`)),
    );
    const text = (await root.readFile('/log')).toString();
    expect(text.length).toBe(20 * 7);
    expect(text.split(';').filter(Boolean).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `rec${String(i).padStart(3, '0')}`),
    );
  });

  it('lets exactly one of many concurrent creates of a name win', async () => {
    const results = await Promise.allSettled(clients(8).map((c, i) => c.create('/race', `w${i}`)));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(errnoOf(r.reason)).toBe('EEXIST');
    }
  });

  it('groups concurrent creates of one client into shared commits, each with its own result', async () => {
    await root.mkdir('/many');
    const names = Array.from({ length: 200 }, (_, i) => `/many/f${i}`);
    const inos = await Promise.all(names.map((n, i) => root.create(n, `data ${i}`)));
    expect(new Set(inos).size).toBe(200);
    const dup = await Promise.allSettled([
      root.create('/many/f1', 'x'),
      root.create('/many/new', 'y'),
    ]);
    expect(dup[0].status).toBe('rejected');
    expect(dup[1].status).toBe('fulfilled');
    expect((await root.readFile('/many/f199')).toString()).toBe('data 199');
    expect((await root.readdir('/many')).length).toBe(201);
  });

  it('answers grouped stats each on its own: found, missing, symlinked, refused', async () => {
    await root.mkdir('/st/locked', { parents: true });
    await root.create('/st/f', 'abc');
    await root.create('/st/locked/g', 'x');
    await root.chmod('/st/locked', 0o700);
    await root.symlink('/st/f', '/st/ln');
    const user = root.as({ uid: 1000, gids: [1000] });
    const results = await Promise.allSettled(
      ['/st/f', '/st/missing', '/st/ln', '/st/locked/g', '/st/../st/f', '/st/f/x'].map((p) =>
        user.stat(p),
      ),
    );
    const summary = results.map((r) =>
      r.status === 'fulfilled' ? `${r.value.type}:${r.value.size}` : errnoOf(r.reason),
    );
    expect(summary).toEqual(['file:3', 'ENOENT', 'file:3', 'EACCES', 'file:3', 'ENOTDIR']);
  });

  it('never leaves an entry in a removed directory (rmdir racing create)', async () => {
    for (let round = 0; round < 10; round++) {
      await root.mkdir(`/rr${round}`);
      const [c1, c2] = clients(2);
      const [rm, mk] = await Promise.allSettled([
        c1!.rmdir(`/rr${round}`),
        c2!.create(`/rr${round}/f`, 'x'),
      ]);
      if (rm.status === 'fulfilled') {
        expect(mk.status).toBe('rejected');
      } else {
        expect(errnoOf(rm.reason)).toBe('ENOTEMPTY');
        expect(mk.status).toBe('fulfilled');
      }
    }
    const [orphans] = await os.sql`
      select count(*)::int as n from tableos.fs_dirent d
       where not exists (select 1 from tableos.fs_inode i where i.ino = d.parent)`;
    expect(orphans!.n).toBe(0);
  });
});
