import { describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

/**
 * What the handlers themselves see: how many run at once, overall, per node and per key.
 * Both nodes live in this process, so one gauge sees the whole cluster.
 */
class Gauge {
  private readonly now = new Map<string, number>();
  readonly peak = new Map<string, number>();

  enter(...keys: string[]): void {
    for (const k of keys) {
      const n = (this.now.get(k) ?? 0) + 1;
      this.now.set(k, n);
      this.peak.set(k, Math.max(this.peak.get(k) ?? 0, n));
    }
  }

  exit(...keys: string[]): void {
    for (const k of keys) this.now.set(k, (this.now.get(k) ?? 0) - 1);
  }

  max(prefix: string): number {
    return Math.max(0, ...[...this.peak].filter(([k]) => k.startsWith(prefix)).map(([, n]) => n));
  }
}

// Two executor nodes on one database; every handler counts, in SQL, what is running.
async function cluster(register: (os: TableOS, node: number, sample: () => Promise<void>) => void) {
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
  nodes.forEach((os, i) => register(os, i, sample));
  for (const os of nodes) await os.scheduler.start({ capacity: 8, pollMs: 500 });
  return { nodes, peaks };
}

/**
 * A handler that holds its slot until the gauge has seen the limit reached (or, if it never
 * is, until the first holder gives up), so a correct limiter is seen at its limit and one
 * that lets more through is seen above it.
 */
function holder(gauge: Gauge, reached: () => boolean) {
  let gaveUp = false;
  return async (sample: () => Promise<void>, ...keys: string[]) => {
    gauge.enter(...keys);
    try {
      await sample();
      await waitFor(() => gaveUp || reached(), { timeoutMs: 5000 }).catch(() => (gaveUp = true));
      await sample();
    } finally {
      gauge.exit(...keys);
    }
  };
}

describe('queue limits under concurrency', () => {
  it('global concurrency is never exceeded, and is reached', async () => {
    const gauge = new Gauge();
    const hold = holder(gauge, () => gauge.max('all') >= 3);
    const { nodes, peaks } = await cluster((os, node, sample) =>
      os.scheduler.register('w', () => hold(sample, 'all', `node:${node}`)),
    );
    const s = nodes[0]!.scheduler;
    await s.queue('g', { concurrency: 3 });
    const hs = await Promise.all(Array.from({ length: 24 }, () => s.enqueue('g', 'w')));
    await Promise.all(hs.map((h) => h.result()));
    expect(gauge.max('all')).toBe(3);
    expect(peaks.total).toBe(3);
  });

  it('per-executor concurrency is never exceeded, and is reached on each node', async () => {
    const gauge = new Gauge();
    const hold = holder(gauge, () => gauge.max('all') >= 4);
    const { nodes, peaks } = await cluster((os, node, sample) =>
      os.scheduler.register('w', () => hold(sample, 'all', `node:${node}`)),
    );
    const s = nodes[0]!.scheduler;
    await s.queue('e', { perExecutor: 2 });
    const hs = await Promise.all(Array.from({ length: 24 }, () => s.enqueue('e', 'w')));
    await Promise.all(hs.map((h) => h.result()));
    expect([gauge.peak.get('node:0'), gauge.peak.get('node:1')]).toEqual([2, 2]);
    expect(gauge.max('all')).toBe(4);
    expect(peaks.perExecutor).toBe(2);
    expect(peaks.total).toBe(4);
  });

  it('per-key concurrency keeps one tenant from starving the others', async () => {
    const gauge = new Gauge();
    const order: string[] = [];
    // Held until both tenants were seen at their limit: B gets its two slots while A's
    // backlog holds its own two, or the holders give up and the peaks below say so.
    const hold = holder(gauge, () => gauge.max('key:A') >= 2 && gauge.max('key:B') >= 2);
    const { nodes, peaks } = await cluster((os, _node, sample) =>
      os.scheduler.register('w', async (p: { t: string }) => {
        await hold(sample, `key:${p.t}`);
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
    expect([gauge.peak.get('key:A'), gauge.peak.get('key:B')]).toEqual([2, 2]);
    expect(peaks.perKey).toBe(2);
    // B's three tasks finish among the first few, not after A's backlog of thirty.
    expect(order.lastIndexOf('B')).toBeLessThan(10);
  });

  it('rate limit: at most N starts per window, and N in some window', async () => {
    const { nodes } = await cluster((os) => os.scheduler.register('w', () => 1));
    const s = nodes[0]!.scheduler;
    await s.queue('r', { rateLimit: { count: 4, periodMs: 400 } });
    const hs = await Promise.all(Array.from({ length: 12 }, () => s.enqueue('r', 'w')));
    await Promise.all(hs.map((h) => h.result()));
    // started_at is the dispatcher's clock, and a window opens at the first start at least a
    // period after the previous window opened: group the starts into their windows.
    const starts = (
      await nodes[0]!.sql<{ us: string }[]>`
        select (extract(epoch from started_at) * 1000000)::bigint::text us
          from tableos.task where queue = 'r' order by started_at`
    ).map((r) => BigInt(r.us));
    expect(starts).toHaveLength(12);
    const windows: number[] = [];
    let open = -1n;
    for (const t of starts) {
      if (windows.length === 0 || t >= open + 400_000n) {
        open = t;
        windows.push(0);
      }
      windows[windows.length - 1]!++;
    }
    expect(Math.max(...windows)).toBe(4);
  });
});
