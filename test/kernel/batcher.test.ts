// The group-commit batcher every service uses: no database needed.
import { describe, expect, it } from 'vitest';
import { Batcher, BatchResultError } from '../../src/kernel/batcher.js';

/** A statement that records each batch and resolves when released. */
function recorder<T>() {
  const batches: T[][] = [];
  const release: (() => void)[] = [];
  const run = (items: T[]) => {
    batches.push(items);
    return new Promise<T[]>((resolve) => release.push(() => resolve(items)));
  };
  return { batches, release, run };
}

const turn = async () => {
  // Two turns: the batcher schedules its next batch from a callback of the first.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
};

describe('Batcher', () => {
  it('sends one synchronous burst as one batch when gathering by microtask', async () => {
    const r = recorder<number>();
    const b = Batcher.of(r.run, { gather: 'microtask' });
    const ps = [1, 2, 3].map((i) => b.push(i));
    await turn();
    expect(r.batches).toEqual([[1, 2, 3]]);
    r.release.shift()!();
    expect(await Promise.all(ps)).toEqual([1, 2, 3]);
  });

  it('sends the first item at once with gather none, and queues the rest behind it', async () => {
    const r = recorder<number>();
    const b = Batcher.of(r.run, { gather: 'none', regather: false });
    const ps = [1, 2, 3].map((i) => b.push(i));
    expect(r.batches).toEqual([[1]]);
    r.release.shift()!();
    await turn();
    expect(r.batches).toEqual([[1], [2, 3]]);
    r.release.shift()!();
    expect(await Promise.all(ps)).toEqual([1, 2, 3]);
  });

  it('keeps at most maxInFlight statements going and splits by maxBatch', async () => {
    const r = recorder<number>();
    const b = Batcher.of(r.run, { gather: 'none', maxInFlight: 2, maxBatch: 2 });
    const ps = [1, 2, 3, 4, 5, 6].map((i) => b.push(i));
    await turn();
    expect(r.batches).toEqual([[1], [2, 3]]);
    expect(b.pending).toBe(6);
    r.release.shift()!();
    await turn();
    expect(r.batches).toEqual([[1], [2, 3], [4, 5]]);
    while (r.release.length > 0) {
      r.release.shift()!();
      await turn();
    }
    expect(await Promise.all(ps)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.batches.flat()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('with regather, callers resumed by a batch join the next one', async () => {
    const seen: number[][] = [];
    const b = Batcher.of(
      (items: number[]) => {
        seen.push(items);
        return Promise.resolve(items);
      },
      { gather: 'none', regather: true },
    );
    // Each caller queues its next item as soon as its first is done: 10 is queued while
    // [2, 3] waits for its turn, so it goes with them.
    await Promise.all([1, 2, 3].map((i) => b.push(i).then((v) => b.push(v * 10))));
    expect(seen).toEqual([[1], [2, 3, 10], [20, 30]]);
  });

  it('rejects every item of a failed batch by default', async () => {
    const b = Batcher.of((items: number[]) => Promise.reject(new Error(`bad ${items.length}`)));
    const ps = [1, 2].map((i) => b.push(i));
    await expect(ps[0]).rejects.toThrow('bad 2');
    await expect(ps[1]).rejects.toThrow('bad 2');
  });

  it('retries each item alone with retry-each, so only the bad one fails', async () => {
    const b = Batcher.of(
      (items: number[]) =>
        items.includes(2)
          ? Promise.reject(new Error('two'))
          : Promise.resolve(items.map((i) => -i)),
      { onFailure: 'retry-each' },
    );
    const out = await Promise.allSettled([1, 2, 3].map((i) => b.push(i)));
    expect(out.map((o) => (o.status === 'fulfilled' ? o.value : 'failed'))).toEqual([
      -1,
      'failed',
      -3,
    ]);
  });

  it('settles each item on its own when the statement says so', async () => {
    const b = Batcher.settling((items: number[]) =>
      Promise.resolve(
        items.map((i) =>
          i % 2 === 0
            ? { ok: false as const, error: new Error(`even ${i}`) }
            : { ok: true as const, value: i },
        ),
      ),
    );
    const out = await Promise.allSettled([1, 2, 3].map((i) => b.push(i)));
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('rejects items a statement returned no result for', async () => {
    const b = Batcher.of((items: number[]) => Promise.resolve(items.slice(1)));
    const ps = [1, 2].map((i) => b.push(i));
    await expect(ps[0]).resolves.toBe(2);
    await expect(ps[1]).rejects.toBeInstanceOf(BatchResultError);
  });

  it('drained() resolves only once nothing is queued or in flight', async () => {
    const r = recorder<number>();
    const b = Batcher.of(r.run, { gather: 'none' });
    await b.drained();
    void b.push(1);
    void b.push(2);
    let drained = false;
    const d = b.drained().then(() => (drained = true));
    r.release.shift()!();
    await turn();
    expect(drained).toBe(false);
    r.release.shift()!();
    await d;
    expect(drained).toBe(true);
    expect(b.pending).toBe(0);
  });

  it('refuses a batch size or in-flight count below one', () => {
    expect(() => Batcher.of(() => Promise.resolve([]), { maxBatch: 0 })).toThrow(RangeError);
  });
});
