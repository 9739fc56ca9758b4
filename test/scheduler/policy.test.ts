import { describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { openTestOS } from '../support/db.js';

// Two executors' slots registered directly in SQL, so placement can be read from the rows.
async function twoWorkers(os: TableOS, mem: [number | null, number | null] = [null, null]) {
  for (const [i, e] of ['e1', 'e2'].entries()) {
    await os.sql`select tableos.executor_register(${e}, 'h', 1, 'x', 60000)`;
    await os.sql`select * from tableos.sched_worker_register(${e}, 0, 2, ${mem[i] ?? null}::int, ${[`s${i + 1}`]}::text[], null)`;
  }
}

async function placed(os: TableOS, id: string): Promise<string | null> {
  const [r] = await os.sql<
    { worker_id: string | null }[]
  >`select worker_id from tableos.task where id = ${id}`;
  return r!.worker_id;
}

describe('placement policies', () => {
  it('fifo fills workers in registration order', async () => {
    const os = await openTestOS({ executor: false });
    await twoWorkers(os);
    const s = os.scheduler;
    await s.queue('q', { policy: 'fifo' });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await s.enqueue('q', 'k')).id);
    expect(await Promise.all(ids.map((id) => placed(os, id)))).toEqual(['e1/0', 'e1/0', 'e2/0']);
  });

  it('least_loaded spreads tasks, and the policy swaps at run time', async () => {
    const os = await openTestOS({ executor: false });
    await twoWorkers(os);
    const s = os.scheduler;
    await s.queue('q', { policy: 'least_loaded' });
    const a = await s.enqueue('q', 'k');
    const b = await s.enqueue('q', 'k');
    expect([await placed(os, a.id), await placed(os, b.id)]).toEqual(['e1/0', 'e2/0']);
    await s.setPolicy('q', 'fifo');
    expect((await s.getQueue('q')).policy).toBe('fifo');
    const c = await s.enqueue('q', 'k');
    expect(await placed(os, c.id)).toBe('e1/0');
  });

  it('locality prefers the worker holding the data shard', async () => {
    const os = await openTestOS({ executor: false });
    await twoWorkers(os);
    const s = os.scheduler;
    await s.queue('q', { policy: 'locality' });
    const a = await s.enqueue('q', 'k', null, { localityKey: 's2' });
    const b = await s.enqueue('q', 'k', null, { localityKey: 's2' });
    const c = await s.enqueue('q', 'k', null, { localityKey: 's1' });
    const d = await s.enqueue('q', 'k', null, { localityKey: 's2' });
    expect(await Promise.all([a, b, c, d].map((h) => placed(os, h.id)))).toEqual([
      'e2/0',
      'e2/0',
      'e1/0',
      'e1/0', // s2's holder is full: the next best is taken
    ]);
  });

  it('a user policy is one SQL function', async () => {
    const os = await openTestOS({ executor: false });
    await twoWorkers(os);
    await os.sql.unsafe(`
      create function public.newest_first(t tableos.task, c tableos.worker[]) returns text
      language sql stable as $$ select w.id from unnest(c) w order by w.seq desc limit 1 $$`);
    const s = os.scheduler;
    await s.addPolicy('newest_first', 'public.newest_first', 'latest registered worker');
    await s.queue('q');
    await s.setPolicy('q', 'newest_first');
    const a = await s.enqueue('q', 'k');
    expect(await placed(os, a.id)).toBe('e2/0');
    await expect(s.addPolicy('fifo', 'public.newest_first')).rejects.toThrow(/built in/);
    await expect(s.addPolicy('bad', 'public.missing')).rejects.toThrow(/does not exist/);
  });

  it('places a task only where its memory is free, and gives it back at the end', async () => {
    const os = await openTestOS({ executor: false });
    await twoWorkers(os, [100, 1000]);
    const s = os.scheduler;
    await s.queue('q');
    const big = await s.enqueue('q', 'k', null, { memoryMb: 500 });
    const bigger = await s.enqueue('q', 'k', null, { memoryMb: 600 });
    const small = await s.enqueue('q', 'k', null, { memoryMb: 100 });
    expect(await placed(os, big.id)).toBe('e2/0');
    expect(await placed(os, bigger.id)).toBeNull();
    expect(await placed(os, small.id)).toBe('e1/0');
    const mem = async () =>
      Object.fromEntries(
        (
          await os.sql<
            { id: string; m: number }[]
          >`select id, mem_free_mb m from tableos.worker order by id`
        ).map((r) => [r.id, r.m]),
      );
    expect(await mem()).toEqual({ 'e1/0': 0, 'e2/0': 500 });
    await os.sql`select * from tableos.sched_complete('e2', ${[big.id]}::bigint[], ${[null]}::text[], ${['1']}::jsonb[])`;
    expect(await placed(os, bigger.id)).toBe('e2/0');
    expect(await mem()).toEqual({ 'e1/0': 0, 'e2/0': 400 });
    expect((await s.task(big.id)).state).toBe('done');
  });

  it('with a single worker, still checks room, memory and kinds', async () => {
    const os = await openTestOS({ executor: false });
    await os.sql`select tableos.executor_register('solo', 'h', 1, 'x', 60000)`;
    await os.sql`select * from tableos.sched_worker_register('solo', 0, 2, 100, '{}', ${['a', 'b']}::text[])`;
    const s = os.scheduler;
    for (const policy of ['fifo', 'least_loaded', 'locality']) {
      await s.queue(`q-${policy}`, { policy });
    }
    const tooBig = await s.enqueue('q-fifo', 'a', null, { memoryMb: 200 });
    const otherKind = await s.enqueue('q-least_loaded', 'c');
    const fits = await s.enqueue('q-locality', 'b', null, { memoryMb: 60 });
    const second = await s.enqueue('q-fifo', 'a', null, { memoryMb: 60 });
    const third = await s.enqueue('q-fifo', 'a');
    expect(await placed(os, tooBig.id)).toBeNull();
    expect(await placed(os, otherKind.id)).toBeNull();
    expect(await placed(os, fits.id)).toBe('solo/0');
    expect(await placed(os, second.id)).toBeNull(); // 40 MB left
    expect(await placed(os, third.id)).toBe('solo/0');
    const [w] = await os.sql<{ running: number; mem_free_mb: number }[]>`
      select running, mem_free_mb from tableos.worker`;
    expect(w).toEqual({ running: 2, mem_free_mb: 40 });
  });
});
