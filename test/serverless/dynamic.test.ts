// Dynamic graphs: a node returns new child nodes (a map over its result) and a fan-in over them.
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { DagTooLargeError } from '../../src/serverless/errors.js';
import { openTestOS } from '../support/db.js';

let os: TableOS;

beforeAll(async () => {
  os = await openTestOS({ serverless: { maxNodes: 20 } });
  const s = os.serverless;
  s.fn('list', (_ctx, n: number) => Array.from({ length: n }, (_, i) => i + 1), {
    kind: 'procedure',
  });
  // Maps over its input: one child per item, and a fan-in over them.
  s.fn(
    'map',
    (ctx, fanIn: boolean) => {
      const items = ctx.inputs[0] as number[];
      return ctx.spawn({
        nodes: items.map((x) => ({ id: `sq${x}`, fn: 'square', args: [x] })),
        ...(fanIn ? { fanIn: { id: 'sum', fn: 'sum' } } : {}),
        output: items.length,
      });
    },
    { kind: 'procedure' },
  );
  s.fn('square', (_ctx, x: number) => x * x, { kind: 'procedure' });
  s.fn('sum', (ctx) => (ctx.inputs as number[]).reduce((a, b) => a + b, 0), { kind: 'procedure' });
  s.fn('show', (ctx) => `total ${String(ctx.inputs[0])}`, { kind: 'step' });
  await os.scheduler.start({ capacity: 4, pollMs: 200 });
});

describe('dynamic graphs', () => {
  it('maps over a result and fans in; the fan-in takes over the mapper children', async () => {
    const h = await os.serverless.submit(
      {
        nodes: [
          { id: 'src', fn: 'list', args: [4] },
          { id: 'map', fn: 'map', args: [true] },
          { id: 'out', fn: 'show' },
        ],
        edges: [
          ['src', 'map'],
          ['map', 'out'],
        ],
      },
      { id: 'mapred' },
    );
    expect(await h.result()).toEqual({ out: 'total 30' });
    const d = await h.get();
    expect(d.nodeCount).toBe(3 + 4 + 1);
    const byId = new Map(d.nodes.map((n) => [n.id, n]));
    expect(byId.get('map/sum')!.parents).toEqual(['map/sq1', 'map/sq2', 'map/sq3', 'map/sq4']);
    expect(byId.get('out')!.parents).toEqual(['map/sum']);
    expect(byId.get('map/sq3')).toMatchObject({ spawnedBy: 'map', output: 9, parents: ['map'] });
    expect(byId.get('map')!.output).toBe(4);
  });

  it('a fan-in over an empty set runs at once on no inputs', async () => {
    const h = await os.serverless.submit({
      nodes: [
        { id: 'src', fn: 'list', args: [0] },
        { id: 'map', fn: 'map', args: [true] },
      ],
      edges: [['src', 'map']],
    });
    expect(await h.result()).toEqual({ 'map/sum': 0 });
  });

  it('without a fan-in, the spawned nodes are sinks', async () => {
    const h = await os.serverless.submit({
      nodes: [
        { id: 'src', fn: 'list', args: [2] },
        { id: 'map', fn: 'map', args: [false] },
      ],
      edges: [['src', 'map']],
    });
    expect(await h.result()).toEqual({ 'map/sq1': 1, 'map/sq2': 4 });
  });

  it('fails the node that would grow the graph past maxNodes', async () => {
    const h = await os.serverless.submit({
      nodes: [
        { id: 'src', fn: 'list', args: [30] },
        { id: 'map', fn: 'map', args: [true] },
      ],
      edges: [['src', 'map']],
    });
    const err = await h.result().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/would grow dag .* to 33 nodes; at most 20/);
    const d = await h.get();
    expect(d.nodeCount).toBe(2);
    expect(d.nodes.find((n) => n.id === 'map')!.status).toBe('failed');
    expect(new DagTooLargeError('x').code).toBe('TABLEOS_DAG_TOO_LARGE');
  });
});
