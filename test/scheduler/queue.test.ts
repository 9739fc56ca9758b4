import { describe, expect, it } from 'vitest';
import {
  SchedulerInvalidError,
  TaskFailedError,
  UnknownPolicyError,
  UnknownQueueError,
  UnknownTaskError,
} from '../../src/scheduler/index.js';
import { createTestDatabase, openTestOS } from '../support/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('queues', () => {
  it('runs an enqueued task and returns its result through the handle', async () => {
    const os = await openTestOS();
    const s = os.scheduler;
    s.register('add', (p: { a: number; b: number }) => p.a + p.b);
    await s.queue('math');
    await s.start({ capacity: 4, pollMs: 1000 });
    const h = await s.enqueue<number>('math', 'add', { a: 2, b: 3 });
    expect(await h.result()).toBe(5);
    const row = await s.task(h.id);
    expect(row.state).toBe('done');
    expect(row.attempts).toBe(1);
    const [w] = await s.workers();
    expect(w!.running).toBe(0);
  });

  it('reports a failing handler as TaskFailedError after its attempts', async () => {
    const os = await openTestOS();
    const s = os.scheduler;
    let calls = 0;
    s.register('boom', () => {
      calls++;
      throw new Error('kaput');
    });
    await s.queue('q');
    await s.start({ pollMs: 1000 });
    const h = await s.enqueue('q', 'boom', null, { maxAttempts: 2 });
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    expect((err as TaskFailedError).error).toBe('kaput');
    expect(calls).toBe(2);
    expect((await s.task(h.id)).state).toBe('failed');
  });

  it('runs higher priority first, and honours delay', async () => {
    const os = await openTestOS();
    const s = os.scheduler;
    const order: number[] = [];
    s.register('rec', (p: { n: number }) => void order.push(p.n));
    await s.queue('p');
    await s.pause('p');
    const hs = [];
    for (const [n, priority] of [
      [1, 0],
      [2, 10],
      [3, 5],
      [4, 10],
    ] as const) {
      hs.push(await s.enqueue('p', 'rec', { n }, { priority }));
    }
    await s.start({ capacity: 1, pollMs: 1000 });
    await s.resume('p');
    await Promise.all(hs.map((h) => h.result()));
    expect(order).toEqual([2, 4, 3, 1]);
    const before = Date.now();
    const d = await s.enqueue('p', 'rec', { n: 5 }, { delayMs: 400 });
    const after = Date.now();
    await d.result();
    // The delay became the task's run time, and the dispatcher started it no earlier.
    const t = await s.task(d.id);
    expect(t.runAt.getTime()).toBeGreaterThanOrEqual(before + 400);
    expect(t.runAt.getTime()).toBeLessThanOrEqual(after + 400);
    expect(t.startedAt!.getTime()).toBeGreaterThanOrEqual(t.runAt.getTime());
  });

  it('deduplicates by key while the task is live', async () => {
    const os = await openTestOS();
    const s = os.scheduler;
    await s.queue('d');
    await s.pause('d');
    const a = await s.enqueue('d', 'x', { v: 1 }, { dedupKey: 'k1' });
    const [b, c] = await Promise.all([
      s.enqueue('d', 'x', { v: 2 }, { dedupKey: 'k1' }),
      s.enqueue('d', 'x', { v: 3 }, { dedupKey: 'k2' }),
    ]);
    expect(a.existed).toBe(false);
    expect(b.id).toBe(a.id);
    expect(b.existed).toBe(true);
    expect(c.id).not.toBe(a.id);
    const [{ n }] = (await os.sql<
      { n: number }[]
    >`select count(*)::int n from tableos.task where queue = 'd'`) as unknown as [{ n: number }];
    expect(n).toBe(2);
    expect((await s.task(a.id)).payload).toEqual({ v: 1 });
  });

  it('one SQL batch of plain, keyed and deduplicated rows maps each position to its task', async () => {
    const os = await openTestOS({ executor: false });
    await os.scheduler.queue('batch');
    // 1,200 rows: every 3rd keyed (every 30th repeating the key of the row before), every 5th
    // with a dedup key shared by pairs, the rest plain.
    const n = 1200;
    const keys = Array.from({ length: n }, (_, i) =>
      i % 3 !== 0 ? null : i % 30 === 0 && i > 0 ? `k${i - 3}` : `k${i}`,
    );
    const dedup = Array.from({ length: n }, (_, i) =>
      keys[i] === null && i % 5 === 0 ? `d${Math.floor(i / 10)}` : null,
    );
    const nulls = Array.from({ length: n }, () => null);
    const rows = await os.sql<{ ord: number; id: string; existed: boolean; by_key: boolean }[]>`
      select * from tableos.sched_enqueue(
        ${Array.from({ length: n }, () => 'batch')}::text[], ${Array.from({ length: n }, () => 'x')}::text[],
        ${Array.from({ length: n }, (_, i) => JSON.stringify({ i }))}::text[]::jsonb[],
        ${nulls}::int[], ${nulls}::timestamptz[], ${nulls}::int[], ${nulls}::text[], ${nulls}::text[],
        ${dedup}::text[], ${nulls}::int[], ${keys}::text[])`;
    expect(rows.map((r) => r.ord)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const tasks = await os.sql<{ id: string; i: number }[]>`
      select id, (payload->>'i')::int as i from tableos.task where queue = 'batch' order by id`;
    const payloadOf = new Map(tasks.map((t) => [t.id, t.i]));
    // Tasks were made in batch order, one per row that did not meet an earlier one.
    expect(tasks.map((t) => t.i)).toEqual([...tasks.map((t) => t.i)].sort((a, b) => a - b));
    const earlierKey = (i: number) => keys[i] !== null && keys.indexOf(keys[i]!) < i;
    const earlierDedup = (i: number) => dedup[i] !== null && dedup.indexOf(dedup[i]!) < i;
    rows.forEach((r, i) => {
      const dup = earlierKey(i) || earlierDedup(i);
      expect(r.existed, `row ${i}`).toBe(dup);
      expect(r.by_key, `row ${i}`).toBe(earlierKey(i));
      const first = earlierKey(i)
        ? keys.indexOf(keys[i]!)
        : earlierDedup(i)
          ? dedup.indexOf(dedup[i]!)
          : i;
      expect(payloadOf.get(r.id), `row ${i}`).toBe(first);
    });
    expect(tasks.length).toBe(rows.filter((r) => !r.existed).length);
  });

  it('rejects bad input with clear errors and changes nothing', async () => {
    const os = await openTestOS({ executor: false });
    const s = os.scheduler;
    await s.queue('ok');
    await expect(s.enqueue('nope', 'k')).rejects.toBeInstanceOf(UnknownQueueError);
    await expect(s.enqueue('ok', '')).rejects.toBeInstanceOf(SchedulerInvalidError);
    await expect(s.enqueue('ok', 'k', undefined, { memoryMb: -1 })).rejects.toThrow(/memoryMb/);
    await expect(s.enqueue('ok', 'k', undefined, { priority: 1.5 })).rejects.toThrow(/priority/);
    await expect(s.enqueue('ok', 'k', 'x'.repeat(1024 * 1024 + 1))).rejects.toThrow(/limit/);
    await expect(s.enqueue('ok', "k'; drop table tableos.task; --")).rejects.toThrow(
      /invalid task kind/,
    );
    await expect(s.queue('ok', { concurrency: -1 })).rejects.toThrow(/concurrency/);
    await expect(s.queue('ok', { policy: 'nope' })).rejects.toBeInstanceOf(UnknownPolicyError);
    await expect(s.setPolicy('ok', 'nope')).rejects.toBeInstanceOf(UnknownPolicyError);
    await expect(s.setPolicy('missing', 'fifo')).rejects.toBeInstanceOf(UnknownQueueError);
    await expect(s.task('999999')).rejects.toBeInstanceOf(UnknownTaskError);
    await expect(s.task('abc')).rejects.toBeInstanceOf(SchedulerInvalidError);
    await expect(s.start()).rejects.toThrow(/executor: false/);
    const [{ n }] = (await os.sql<
      { n: number }[]
    >`select count(*)::int n from tableos.task`) as unknown as [{ n: number }];
    expect(n).toBe(0);
    const q = await s.getQueue('ok');
    expect(q.concurrency).toBeNull();
    expect(q.policy).toBe('fifo');
  });

  it('one caller’s bad input in a batch does not fail the others', async () => {
    const os = await openTestOS({ executor: false });
    const s = os.scheduler;
    await s.queue('good');
    const results = await Promise.allSettled([
      s.enqueue('good', 'k', 1),
      s.enqueue('missing', 'k', 2),
      s.enqueue('good', 'k', 3),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await sleep(0);
  });
});

describe('handles', () => {
  it('gives the result of a task that finished before anyone asked', async () => {
    const os = await openTestOS();
    const s = os.scheduler;
    s.register('ok', (p: number) => p * 2);
    s.register('bad', () => {
      throw new Error('no');
    });
    await s.queue('late');
    await s.start({ pollMs: 1000 });
    const a = await s.enqueue('late', 'ok', 21);
    const b = await s.enqueue('late', 'bad');
    while ((await s.task(a.id)).state !== 'done' || (await s.task(b.id)).state !== 'failed') {
      await sleep(20);
    }
    expect(await a.result()).toBe(42);
    await expect(b.result()).rejects.toThrow(/failed: no/);
  });

  it('waits on a task by id from another node, and rejects an unknown id', async () => {
    const worker = await openTestOS();
    const client = await openTestOS({ databaseUrl: worker.config.databaseUrl!, executor: false });
    const w = worker.scheduler;
    w.register('echo', (p: unknown) => ({ echoed: p }));
    await w.queue('h');
    await w.start({ pollMs: 1000 });
    const c = client.scheduler;
    const h = await c.enqueue('h', 'echo', [1, 'two']);
    expect(await c.handle(h.id).result()).toEqual({ echoed: [1, 'two'] });
    await expect(c.handle('987654').result()).rejects.toBeInstanceOf(UnknownTaskError);
    const queued = await c.enqueue('h', 'echo', 1, { delayMs: 60_000 });
    expect((await c.cancel(queued.id)).state).toBe('cancelled');
    await expect(queued.result()).rejects.toBeInstanceOf(TaskFailedError);
    await expect(c.cancel(h.id)).rejects.toThrow(/only a queued task/);
  });
});

describe('executor stop', () => {
  it('releases its slots at close and re-queues what it could not finish', async () => {
    const url = await createTestDatabase();
    const a = await openTestOS({ databaseUrl: url });
    const s = a.scheduler;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    s.register('slow', async () => {
      await gate;
      return 'late';
    });
    await s.queue('stop');
    await s.start({ capacity: 2, pollMs: 1000, drainMs: 100 });
    const h = await s.enqueue('stop', 'slow');
    while ((await s.task(h.id)).state !== 'running') await sleep(20);
    const id = a.executor!.id;
    await a.close();
    release();
    const b = await openTestOS({ databaseUrl: url, executor: false });
    const [w] = await b.sql<{ status: string; running: number }[]>`
      select status, running from tableos.worker where executor_id = ${id}`;
    expect(w).toEqual({ status: 'stopped', running: 0 });
    const t = await b.scheduler.task(h.id);
    expect([t.state, t.executorId, t.attempts]).toEqual(['queued', null, 1]);
    expect((await b.scheduler.getQueue('stop')).running).toBe(0);
  });
});
