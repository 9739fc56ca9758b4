import { describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { createTestDatabase, openTestOS } from '../support/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Two executor nodes on one database; every handler counts, in SQL, what is running.
async function cluster(register: (os: TableOS, sample: () => Promise<void>) => void) {
  const url = await createTestDatabase();
  const nodes = [await openTestOS({ databaseUrl: url }), await openTestOS({ databaseUrl: url })];
  const peaks = { total: 0, perExecutor: 0, perKey: 0 };
  const sample = async () => {
    const [r] = await nodes[0]!.sql<{ total: number; per_exec: number; per_key: number }[]>`
      select (select count(*)::int from tableos.task where state in ('assigned', 'running')) total,
             (select coalesce(max(n), 0)::int from (select count(*) n from tableos.task
               where state in ('assigned', 'running') group by executor_id) x) per_exec,
             (select coalesce(max(n), 0)::int from (select count(*) n from tableos.task
               where state in ('assigned', 'running') group by partition_key) y) per_key`;
    peaks.total = Math.max(peaks.total, r!.total);
    peaks.perExecutor = Math.max(peaks.perExecutor, r!.per_exec);
    peaks.perKey = Math.max(peaks.perKey, r!.per_key);
  };
  for (const os of nodes) register(os, sample);
  for (const os of nodes) await os.scheduler.start({ capacity: 8, pollMs: 500 });
  return { nodes, peaks };
}

const work = (sample: () => Promise<void>) => async () => {
  await sample();
  await sleep(30);
  await sample();
};

describe('queue limits under concurrency', () => {
  it('global concurrency is never exceeded', async () => {
    const { nodes, peaks } = await cluster((os, sample) =>
      os.scheduler.register('w', work(sample)),
    );
    const s = nodes[0]!.scheduler;
    await s.queue('g', { concurrency: 3 });
    const hs = await Promise.all(Array.from({ length: 24 }, () => s.enqueue('g', 'w')));
    await Promise.all(hs.map((h) => h.result()));
    expect(peaks.total).toBe(3);
  });

  it('per-executor concurrency is never exceeded', async () => {
    const { nodes, peaks } = await cluster((os, sample) =>
      os.scheduler.register('w', work(sample)),
    );
    const s = nodes[0]!.scheduler;
    await s.queue('e', { perExecutor: 2 });
    const hs = await Promise.all(Array.from({ length: 24 }, () => s.enqueue('e', 'w')));
    await Promise.all(hs.map((h) => h.result()));
    expect(peaks.perExecutor).toBe(2);
    expect(peaks.total).toBe(4);
  });

  it('per-key concurrency keeps one tenant from starving the others', async () => {
    const order: string[] = [];
    const { nodes, peaks } = await cluster((os, sample) =>
      os.scheduler.register('w', async (p: { t: string }) => {
        await work(sample)();
        order.push(p.t);
      }),
    );
    const s = nodes[0]!.scheduler;
    await s.queue('k', { perKey: 2 });
    await s.pause('k');
    const big = await Promise.all(
      Array.from({ length: 30 }, () => s.enqueue('k', 'w', { t: 'A' }, { partitionKey: 'A' })),
    );
    const small = await Promise.all(
      Array.from({ length: 3 }, () => s.enqueue('k', 'w', { t: 'B' }, { partitionKey: 'B' })),
    );
    await s.resume('k');
    await Promise.all([...big, ...small].map((h) => h.result()));
    expect(peaks.perKey).toBe(2);
    // B's three tasks finish among the first few, not after A's backlog of thirty.
    expect(order.lastIndexOf('B')).toBeLessThan(10);
  });

  it('rate limit: at most N starts per period', async () => {
    const { nodes } = await cluster((os) => os.scheduler.register('w', () => 1));
    const s = nodes[0]!.scheduler;
    await s.queue('r', { rateLimit: { count: 4, periodMs: 400 } });
    const hs = await Promise.all(Array.from({ length: 12 }, () => s.enqueue('r', 'w')));
    await Promise.all(hs.map((h) => h.result()));
    const starts = (
      await nodes[0]!.sql<
        { t: Date }[]
      >`select started_at t from tableos.task where queue = 'r' order by started_at`
    ).map((r) => r.t.getTime());
    // Twelve starts at four per window need three windows: the last starts at least two periods after the first.
    expect(starts[11]! - starts[0]!).toBeGreaterThanOrEqual(790);
    for (let i = 0; i + 4 < starts.length; i += 4)
      expect(starts[i + 4]! - starts[i]!).toBeGreaterThan(0);
  });
});
