import { describe, expect, it } from 'vitest';
import {
  SchedulerInvalidError,
  UnknownCronError,
  UnknownQueueError,
} from '../../src/scheduler/index.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('cron', () => {
  it('fires each tick exactly once across three executors', async () => {
    const url = await createTestDatabase();
    const nodes = await Promise.all([1, 2, 3].map(() => openTestOS({ databaseUrl: url })));
    const ticks: string[] = [];
    for (const os of nodes) {
      os.scheduler.register('tick', (p: { tick: string }) => void ticks.push(p.tick));
    }
    const s = nodes[0]!.scheduler;
    await s.queue('cron');
    for (const os of nodes) await os.scheduler.start({ pollMs: 1000 });
    await s.cron.add('every-second', '* * * * * *', { queue: 'cron', kind: 'tick', payload: {} });
    const fired = async () =>
      (
        await nodes[0]!.sql<{ n: number; open: number }[]>`
          select count(*)::int n, count(*) filter (where state <> 'done')::int open
            from tableos.task where cron_name = 'every-second'`
      )[0]!;
    await waitFor(async () => (await fired()).n >= 3, { timeoutMs: 20_000, what: 'three ticks' });
    await s.cron.pause('every-second');
    // What fired before the pause has run.
    await waitFor(async () => (await fired()).open === 0, { what: 'the fired ticks to run' });
    const rows = await nodes[0]!.sql<{ n: number; d: number }[]>`
      select count(*)::int n, count(distinct cron_tick)::int d from tableos.task where cron_name = 'every-second'`;
    expect(rows[0]!.n).toBe(rows[0]!.d);
    expect(ticks.length).toBe(rows[0]!.n);
    expect(new Set(ticks).size).toBe(ticks.length);
  });

  it('backfills missed ticks only when asked', async () => {
    const os = await openTestOS();
    const s = os.scheduler;
    s.register('t', () => 1);
    await s.queue('c');
    await s.cron.add('fill', '*/1 * * * * *', { queue: 'c', kind: 't', backfill: true });
    await s.cron.add('skip', '*/1 * * * * *', { queue: 'c', kind: 't' });
    // As if the cluster had been down for five seconds.
    const [{ at }] = (await os.sql<{ at: Date }[]>`
      update tableos.cron set next_at = date_trunc('second', now()) - interval '5 seconds'
      returning date_trunc('second', now()) as at`) as unknown as [{ at: Date }];
    await s.start({ pollMs: 1000 });
    // Until the backfill has caught up and the other schedule has fired its own due tick,
    // which shows it had its chance to fire the missed ones too.
    await waitFor(
      async () => {
        const [r] = await os.sql<{ fill: number; skip: number }[]>`
          select count(*) filter (where cron_name = 'fill' and cron_tick < ${at})::int fill,
                 count(*) filter (where cron_name = 'skip' and cron_tick >= ${at})::int skip
            from tableos.task`;
        return r!.fill >= 5 && r!.skip >= 1;
      },
      { what: 'both schedules to fire' },
    );
    await s.cron.remove('fill');
    await s.cron.remove('skip');
    const counts = Object.fromEntries(
      (
        await os.sql<{ c: string; n: number }[]>`
        select cron_name c, count(*) filter (where cron_tick < ${at})::int n from tableos.task group by 1`
      ).map((r) => [r.c, r.n]),
    );
    // The five ticks missed before at are fired late only by the backfilling schedule;
    // the other fires just its latest due tick (at or after at).
    expect(counts).toEqual({ fill: 5, skip: 0 });
  });

  it('validates expressions, zones, queues and names', async () => {
    const os = await openTestOS({ executor: false });
    const s = os.scheduler;
    await s.queue('c');
    await expect(s.cron.add('x', 'not a cron', { queue: 'c', kind: 'k' })).rejects.toBeInstanceOf(
      SchedulerInvalidError,
    );
    await expect(
      s.cron.add('x', '* * * * *', { queue: 'c', kind: 'k', tz: 'Mars/Base' }),
    ).rejects.toThrow(/time zone/);
    await expect(s.cron.add('x', '* * * * *', { queue: 'nope', kind: 'k' })).rejects.toBeInstanceOf(
      UnknownQueueError,
    );
    await expect(s.cron.pause('missing')).rejects.toBeInstanceOf(UnknownCronError);
    const row = await s.cron.add('x', '0 30 9 * * 1-5', {
      queue: 'c',
      kind: 'k',
      tz: 'Europe/Paris',
    });
    expect(row.tz).toBe('Europe/Paris');
    expect(row.nextAt.getTime()).toBeGreaterThan(Date.now());
    expect((await s.cron.list()).map((c) => c.name)).toEqual(['x']);
  });
});
