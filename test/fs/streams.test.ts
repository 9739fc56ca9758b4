import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { createReadStream, createWriteStream, type FileSystem } from '../../src/fs/index.js';
import { expectErrno, openFs } from './helpers.js';

let root: FileSystem;

beforeAll(async () => {
  ({ root } = await openFs());
});

/** Deterministic pseudo-random data generated chunk by chunk, never whole in memory. */
function source(total: number, seed: string): { stream: Readable; hash: () => string } {
  const h = crypto.createHash('sha256');
  let made = 0;
  let counter = 0;
  const stream = new Readable({
    read() {
      if (made >= total) return void this.push(null);
      // Odd chunk sizes, so writes do not line up with blocks by accident.
      const n = Math.min(700_001, total - made);
      const out = Buffer.alloc(n);
      for (let at = 0; at < n; at += 32) {
        crypto.createHash('sha256').update(`${seed}:${counter++}`).digest().copy(out, at);
      }
      h.update(out);
      made += n;
      this.push(out);
    },
  });
  return { stream, hash: () => h.digest('hex') };
}

async function hashOf(stream: Readable): Promise<{ hash: string; bytes: number }> {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  for await (const c of stream) {
    h.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  return { hash: h.digest('hex'), bytes };
}

describe('streams', () => {
  // 64 MiB here keeps the suite fast; the 1 GiB figure is measured by `npm run bench -- fs`.
  it('round-trips a 64 MiB file byte for byte (sha-256)', async () => {
    const size = 64 * 1024 * 1024 + 12_345;
    const src = source(size, 'big');
    await pipeline(src.stream, createWriteStream(root, '/big.bin'));
    expect((await root.stat('/big.bin')).size).toBe(size);
    const back = await hashOf(createReadStream(root, '/big.bin'));
    expect(back).toEqual({ hash: src.hash(), bytes: size });
  }, 120_000);

  it('reads ranges, appends, and refuses to overwrite with wx', async () => {
    const data = crypto.randomBytes(3 * 262144 + 5);
    await pipeline(Readable.from([data]), createWriteStream(root, '/r.bin'));
    const part = await hashOf(createReadStream(root, '/r.bin', { start: 262140, end: 524300 }));
    expect(part.bytes).toBe(524300 - 262140 + 1);
    expect(part.hash).toBe(
      crypto.createHash('sha256').update(data.subarray(262140, 524301)).digest('hex'),
    );
    await pipeline(
      Readable.from([Buffer.from('tail')]),
      createWriteStream(root, '/r.bin', { flags: 'a' }),
    );
    const all = await root.readFile('/r.bin');
    expect(all.length).toBe(data.length + 4);
    expect(all.subarray(data.length).toString()).toBe('tail');
    await expect(
      pipeline(
        Readable.from([Buffer.from('x')]),
        createWriteStream(root, '/r.bin', { flags: 'wx' }),
      ),
    ).rejects.toMatchObject({ errno: 'EEXIST' });
    await expectErrno(hashOf(createReadStream(root, '/nope')), 'ENOENT');
    expect(await hashOf(createReadStream(root, '/r.bin', { start: 10_000_000 }))).toMatchObject({
      bytes: 0,
    });
  });
});
