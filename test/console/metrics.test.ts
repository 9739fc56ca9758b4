// /metrics after real work: the exposition parses strictly, counters equal the runs, calls,
// messages and tasks the tables hold, and the table-derived gauges equal what SQL says.
import { expect, it } from 'vitest';
import { openTestOS } from '../support/db.js';
import { parseExposition, sampleValue } from '../support/prometheus.js';

it('serves Prometheus metrics whose values match the tables', async () => {
  const os = await openTestOS();
  await os.sql`create table counter (n int)`;
  const wf = os.workflows;
  const bump = wf.procedure('bump', async (tx) => {
    await tx`insert into counter values (1)`;
    return 1;
  });
  const twice = wf.step('twice', (n: number) => Promise.resolve(n * 2));
  const ok = wf.workflow(
    'ok',
    async (ctx, n: number) => (await ctx.call(twice, await ctx.call(bump))) + n,
  );
  const bad = wf.workflow('bad', () => Promise.reject(new Error('no')));
  for (let i = 0; i < 3; i++) expect(await (await ok.start([i])).result()).toBe(2 + i);
  await expect((await bad.start([])).result()).rejects.toThrow('no');

  await os.messaging.send('mb', { hi: 1 });
  await os.messaging.send('mb', { hi: 2 });
  expect((await os.messaging.recv('mb'))?.body).toEqual({ hi: 1 });
  await os.fs.writeFile('/m.txt', 'metrics');
  expect((await os.fs.readFile('/m.txt')).toString()).toBe('metrics');

  const s = os.scheduler;
  s.register('noop', () => 'done');
  await s.queue('idle');
  await s.pause('idle');
  await s.enqueue('idle', 'noop');
  await s.enqueue('idle', 'noop');
  await s.queue('busy');
  await s.start({ pollMs: 1000 });
  expect(await (await s.enqueue('busy', 'noop')).result()).toBe('done');

  const res = await os.http.inject('/metrics');
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  const { types, samples } = parseExposition(res.body);
  const v = (name: string, labels: Record<string, string> = {}) =>
    sampleValue(samples, name, labels);
  expect(types.get('tableos_workflows_started_total')).toBe('counter');
  expect(types.get('tableos_workflow_call_duration_seconds')).toBe('histogram');

  const [runs] = await os.sql<{ all: number; success: number; error: number }[]>`
    select count(*)::int as all, count(*) filter (where status = 'success')::int as success,
           count(*) filter (where status = 'error')::int as error from tableos.workflow`;
  expect(v('tableos_workflows_started_total')).toBe(runs!.all);
  expect(v('tableos_workflows_finished_total', { status: 'success' })).toBe(runs!.success);
  expect(v('tableos_workflows_finished_total', { status: 'error' })).toBe(runs!.error);
  expect(runs).toEqual({ all: 4, success: 3, error: 1 });

  const calls = await os.sql<{ kind: string; n: number }[]>`
    select kind, count(*)::int as n from tableos.workflow_call group by kind order by kind`;
  expect(calls).toEqual([
    { kind: 'procedure', n: 3 },
    { kind: 'step', n: 3 },
  ]);
  for (const c of calls)
    expect(v('tableos_workflow_call_duration_seconds_count', { kind: c.kind })).toBe(c.n);
  expect(v('tableos_workflow_call_duration_seconds_bucket', { kind: 'step', le: '+Inf' })).toBe(3);

  expect(v('tableos_messages_sent_total')).toBe(2);
  expect(v('tableos_messages_received_total')).toBe(1);
  const [left] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from tableos.message where receiver = 'mb'`;
  expect(left!.n).toBe(1);
  const fsOps = samples.filter((x) => x.name === 'tableos_fs_operations_total');
  expect(fsOps.length).toBeGreaterThan(0);
  expect(fsOps.every((x) => x.value >= 1 && /^fs_/.test(x.labels.op ?? ''))).toBe(true);

  const depth = await os.sql<{ queue: string; n: number }[]>`
    select queue, count(*)::int as n from tableos.task where state = 'queued' group by queue`;
  expect(depth).toEqual([{ queue: 'idle', n: 2 }]);
  expect(v('tableos_queue_depth', { queue: 'idle' })).toBe(2);
  expect(v('tableos_queue_depth', { queue: 'busy' })).toBe(0);
  expect(v('tableos_tasks', { state: 'queued' })).toBe(2);
  const [active] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from tableos.task where state in ('assigned', 'running')`;
  expect(
    (v('tableos_tasks', { state: 'assigned' }) ?? -1) +
      (v('tableos_tasks', { state: 'running' }) ?? -1),
  ).toBe(active!.n);
  const [done] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from tableos.task where state = 'done'`;
  expect(v('tableos_task_placement_seconds_count')).toBe(done!.n);
  expect(done!.n).toBe(1);

  const [alive] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from tableos.executor where status = 'alive'`;
  expect(v('tableos_executors_alive')).toBe(alive!.n);
  expect(alive!.n).toBe(1);
  expect(v('tableos_workflows', { status: 'pending' })).toBe(0);
  expect(v('tableos_pool_max_connections')).toBe(os.config.poolSize);
  const conns = samples.filter((x) => x.name === 'tableos_db_connections');
  expect(conns.reduce((a, x) => a + x.value, 0)).toBeGreaterThan(0);
});
