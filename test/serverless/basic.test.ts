// Graphs run on their parents' outputs, placed by the scheduler with memory accounting;
// submit is idempotent by id; procedure nodes commit their writes with their output.
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { DagConflictError } from '../../src/serverless/errors.js';
import { openTestOS } from '../support/db.js';

let os: TableOS;

beforeAll(async () => {
  os = await openTestOS();
  await os.sql`create table public.ledger (node text, v int)`;
  const s = os.serverless;
  s.fn('num', (_ctx, n: number) => n, { kind: 'procedure' });
  s.fn('add', (ctx) => (ctx.inputs as number[]).reduce((a, b) => a + b, 0), {
    kind: 'procedure',
    memoryMb: 64,
  });
  s.fn('order', (ctx) => ctx.inputs.join(','), { kind: 'step' });
  s.fn(
    'write',
    async (ctx, v: number) => {
      await ctx.tx`insert into public.ledger values (${ctx.nodeId}, ${v})`;
      return v;
    },
    { kind: 'procedure', memoryMb: 100 },
  );
  s.fn(
    'write-or-throw',
    async (ctx, v: number) => {
      await ctx.tx`insert into public.ledger values (${ctx.nodeId}, ${v})`;
      if (v === 3) throw new RangeError('three is refused');
      return v;
    },
    { kind: 'procedure' },
  );
  await os.scheduler.start({ capacity: 4, memoryMb: 512, pollMs: 500 });
});

describe('running graphs', () => {
  it('runs a diamond on its parents outputs and returns the sinks', async () => {
    const h = await os.serverless.submit(
      {
        nodes: [
          { id: 'a', fn: 'num', args: [2] },
          { id: 'b', fn: 'num', args: [3] },
          { id: 'c', fn: 'num', args: [5] },
          { id: 'sum', fn: 'add' },
        ],
        edges: [
          ['a', 'sum'],
          ['b', 'sum'],
          ['c', 'sum'],
        ],
      },
      { id: 'diamond' },
    );
    expect(h.existed).toBe(false);
    expect(await h.result()).toEqual({ sum: 10 });
    const d = await h.get();
    expect(d.status).toBe('done');
    expect(d.remaining).toBe(0);
    const sum = d.nodes.find((n) => n.id === 'sum')!;
    expect(sum).toMatchObject({
      status: 'done',
      parents: ['a', 'b', 'c'],
      memoryMb: 64,
      attempts: 1,
    });
    expect(sum.workerId).toBe(`${os.executor!.id}/0`);
    expect(sum.startedAt!.getTime()).toBeGreaterThanOrEqual(sum.readyAt!.getTime());
    // Memory reserved by the node tasks is given back when they finish.
    const [w] = await os.scheduler.workers();
    expect(w!.memFreeMb).toBe(512);
    const tasks = await os.sql<{ memory_mb: number; state: string }[]>`
      select t.memory_mb, t.state from tableos.task t join tableos.dag_node n on n.task_id = t.id
       where n.dag_id = 'diamond' and n.id = 'sum'`;
    expect(tasks).toEqual([{ memory_mb: 64, state: 'done' }]);
  });

  it('passes inputs in edge order, not in order of finishing', async () => {
    const h = await os.serverless.submit({
      nodes: [
        { id: 'x', fn: 'num', args: [1] },
        { id: 'y', fn: 'num', args: [2] },
        { id: 'z', fn: 'num', args: [3] },
        { id: 'join', fn: 'order' },
      ],
      edges: [
        ['z', 'join'],
        ['x', 'join'],
        ['y', 'join'],
      ],
    });
    expect(await h.result()).toEqual({ join: '3,1,2' });
  });

  it('runs a chain one hop at a time', async () => {
    const nodes = Array.from({ length: 6 }, (_, i) =>
      i === 0 ? { id: 'n0', fn: 'num', args: [1] } : { id: `n${i}`, fn: 'add' },
    );
    const edges = nodes.slice(1).map((_, i) => [`n${i}`, `n${i + 1}`] as [string, string]);
    const h = await os.serverless.submit({ nodes, edges });
    expect(await h.result()).toEqual({ n5: 1 });
  });

  it('commits a procedure node writes with its output, once', async () => {
    const h = await os.serverless.submit(
      {
        nodes: [
          { id: 'w1', fn: 'write', args: [1] },
          { id: 'w2', fn: 'write', args: [2] },
        ],
      },
      { id: 'writes' },
    );
    expect(await h.result()).toEqual({ w1: 1, w2: 2 });
    const rows = await os.sql`select node, v from public.ledger order by node`;
    expect(rows).toEqual([
      { node: 'w1', v: 1 },
      { node: 'w2', v: 2 },
    ]);
  });

  it('returns the existing dag for the same id and graph, refuses another graph', async () => {
    const g = { nodes: [{ id: 'only', fn: 'num', args: [7] }] };
    const a = await os.serverless.submit(g, { id: 'same' });
    const b = await os.serverless.submit(g, { id: 'same' });
    expect([a.existed, b.existed]).toEqual([false, true]);
    expect(await b.result()).toEqual({ only: 7 });
    const other = { nodes: [{ id: 'only', fn: 'num', args: [8] }] };
    await expect(os.serverless.submit(other, { id: 'same' })).rejects.toBeInstanceOf(
      DagConflictError,
    );
    const [n] = await os.sql<{ n: number }[]>`
      select count(*)::int n from tableos.dag_node where dag_id = 'same'`;
    expect(n!.n).toBe(1);
  });

  it('lists dags', async () => {
    const all = await os.serverless.list();
    expect(all.map((d) => d.id)).toContain('diamond');
    expect((await os.serverless.list({ status: 'running' })).length).toBe(0);
  });

  it('rolls back only the failing node of a batch of procedure nodes', async () => {
    const nodes = [1, 2, 3, 4, 5, 6].map((v) => ({
      id: `b${v}`,
      fn: 'write-or-throw',
      args: [v],
      onFailure: 'continue' as const,
    }));
    const h = await os.serverless.submit({ nodes }, { id: 'batch' });
    expect(await h.result()).toEqual({ b1: 1, b2: 2, b3: null, b4: 4, b5: 5, b6: 6 });
    const rows = await os.sql<{ node: string }[]>`
      select node from public.ledger where node like 'b%' order by node`;
    expect(rows.map((r) => r.node)).toEqual(['b1', 'b2', 'b4', 'b5', 'b6']);
    const b3 = (await h.get()).nodes.find((n) => n.id === 'b3')!;
    expect(b3).toMatchObject({ status: 'failed', error: 'three is refused' });
  });
});
