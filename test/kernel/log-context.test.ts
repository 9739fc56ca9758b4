// Log lines carry their context: every line of a node names its executor; what a workflow,
// a task handler or a DAG node logs through its context names the run, the task or the node.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { openTestOS } from '../support/db.js';

it('lines logged through a run, a task and a DAG node carry their ids and the executor', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const os = await openTestOS({ logger: pino({ level: 'info' }, sink) });
  const wf = os.workflows.workflow('greeter', (ctx, who: string) => {
    ctx.log.info({ who }, 'greeting');
    return Promise.resolve(`hi ${who}`);
  });
  const s = os.scheduler;
  s.register('tidy', (payload: { n: number }, _task, ctx) => {
    ctx.log.info({ n: payload.n }, 'tidying');
    return payload.n;
  });
  os.serverless.fn(
    'count',
    (ctx, n: number) => {
      ctx.log.info('counting');
      return n;
    },
    { kind: 'procedure' },
  );
  await s.queue('chores');
  await s.start({ capacity: 2, memoryMb: 128, pollMs: 200 });
  expect(await (await wf.start(['ada'], { id: 'greet-1' })).result()).toBe('hi ada');
  const task = await s.enqueue('chores', 'tidy', { n: 7 });
  expect(await task.result()).toBe(7);
  const dag = await os.serverless.submit(
    { nodes: [{ id: 'c', fn: 'count', args: [3] }] },
    {
      id: 'counted',
    },
  );
  expect(await dag.result()).toEqual({ c: 3 });
  const executor = os.executor!.id;
  const find = (msg: string) => {
    const found = lines.filter((l) => l.msg === msg);
    expect(found, msg).toHaveLength(1);
    return found[0]!;
  };
  expect(find('greeting')).toMatchObject({
    executor,
    service: 'workflows',
    workflow: 'greet-1',
    workflowName: 'greeter',
    who: 'ada',
  });
  expect(find('tidying')).toMatchObject({
    executor,
    service: 'scheduler',
    task: task.id,
    queue: 'chores',
    kind: 'tidy',
    n: 7,
  });
  expect(find('counting')).toMatchObject({ executor, dag: 'counted', node: 'c', attempt: 1 });
});
