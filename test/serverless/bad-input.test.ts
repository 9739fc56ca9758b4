// Bad input gets a clear error with a stable code, and nothing is half-submitted.
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import {
  DagCycleError,
  DagError,
  DagInvalidError,
  DagMemoryError,
  DagMissingNodeError,
  DagNotFoundError,
  DagTooLargeError,
  DagUnknownFunctionError,
} from '../../src/serverless/errors.js';
import { openTestOS } from '../support/db.js';
import { ConfigError } from '../../src/kernel/errors.js';

let os: TableOS;

async function rowCounts(): Promise<number[]> {
  const [r] = await os.sql<{ d: number; n: number; e: number; t: number }[]>`
    select (select count(*)::int from tableos.dag) d, (select count(*)::int from tableos.dag_node) n,
           (select count(*)::int from tableos.dag_edge) e,
           (select count(*)::int from tableos.task where queue = 'dag') t`;
  return [r!.d, r!.n, r!.e, r!.t];
}

async function refused(graph: unknown, cls: new (...a: never[]) => DagError, msg: RegExp) {
  const before = await rowCounts();
  const err = await os.serverless
    .submit(graph as Parameters<TableOS['serverless']['submit']>[0], { id: 'bad' })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(msg);
  expect(await rowCounts()).toEqual(before);
  return err as DagError;
}

beforeAll(async () => {
  os = await openTestOS({ serverless: { maxNodes: 50 } });
  const s = os.serverless;
  s.fn('num', (_ctx, n: number) => n, { kind: 'procedure' });
  s.fn('big', () => 1, { kind: 'procedure', memoryMb: 4096 });
  s.fn('weird', (_ctx, what: string) => (what === 'map' ? new Map([[1, 2]]) : 10n), {
    kind: 'step',
  });
  await os.scheduler.start({ capacity: 2, memoryMb: 1024, pollMs: 200 });
});

describe('refused at submit, nothing stored', () => {
  it('an unknown function', async () => {
    const e = await refused(
      { nodes: [{ id: 'a', fn: 'nope' }] },
      DagUnknownFunctionError,
      /node "a" names unknown function "nope"; register it with os.serverless.fn first \(known: big, num, weird\)/,
    );
    expect(e.code).toBe('TABLEOS_DAG_UNKNOWN_FUNCTION');
  });

  it('a cycle, naming the nodes on it', async () => {
    const e = await refused(
      {
        nodes: ['a', 'b', 'c', 'd'].map((id) => ({ id, fn: 'num', args: [1] })),
        edges: [
          ['a', 'b'],
          ['b', 'c'],
          ['c', 'd'],
          ['d', 'b'],
        ],
      },
      DagCycleError,
      /the graph has a cycle: b -> c -> d -> b/,
    );
    expect((e as DagCycleError).nodes).toEqual(['b', 'c', 'd']);
    expect(e.code).toBe('TABLEOS_DAG_CYCLE');
  });

  it('a node that is its own parent', async () => {
    await refused(
      { nodes: [{ id: 'a', fn: 'num' }], edges: [['a', 'a']] },
      DagCycleError,
      /cycle: a -> a/,
    );
  });

  it('an edge to a missing node', async () => {
    const e = await refused(
      { nodes: [{ id: 'a', fn: 'num' }], edges: [{ from: 'a', to: 'ghost' }] },
      DagMissingNodeError,
      /edge "a" -> "ghost" names node "ghost", which the graph does not have/,
    );
    expect(e.code).toBe('TABLEOS_DAG_MISSING_NODE');
  });

  it('more memory than any worker has (checked in SQL)', async () => {
    const e = await refused(
      {
        nodes: [
          { id: 'a', fn: 'num' },
          { id: 'huge', fn: 'big' },
        ],
      },
      DagMemoryError,
      /nodes "huge" \(4096 MB\) ask for more memory than any worker has \(the largest offers 1024 MB\)/,
    );
    expect(e.code).toBe('TABLEOS_DAG_MEMORY');
    expect(e.cause).toBeDefined();
  });

  it('more nodes than the limit', async () => {
    const nodes = Array.from({ length: 51 }, (_, i) => ({ id: `n${i}`, fn: 'num' }));
    await refused({ nodes }, DagTooLargeError, /the graph has 51 nodes; at most 50 are allowed/);
  });

  it('duplicate node ids, bad ids, non-JSON args, bad policy', async () => {
    await refused(
      {
        nodes: [
          { id: 'a', fn: 'num' },
          { id: 'a', fn: 'num' },
        ],
      },
      DagInvalidError,
      /node id "a" is used twice/,
    );
    await refused({ nodes: [{ id: 'a b', fn: 'num' }] }, DagInvalidError, /invalid id "a b"/);
    await refused(
      { nodes: [{ id: 'a', fn: 'num', args: [() => 1] }] },
      DagError,
      /args of node "a" is not JSON-serialisable: the value\[0\] is a function/,
    );
    await refused(
      { nodes: [{ id: 'a', fn: 'num', retries: -1 }] },
      DagInvalidError,
      /node "a": retries must be an integer from 0 to 100/,
    );
    await refused({ nodes: [] }, DagInvalidError, /at least one node/);
  });
});

describe('bad output and unknown dags', () => {
  it('a non-serialisable output fails the node at once, without retries', async () => {
    const h = await os.serverless.submit({
      nodes: [
        { id: 'm', fn: 'weird', args: ['map'], retries: 3 },
        { id: 'b', fn: 'weird', args: ['bigint'], onFailure: 'continue' },
      ],
    });
    await expect(h.result()).rejects.toThrow(
      /node "m" failed: the output of node "m" is not JSON-serialisable: the value is a Map/,
    );
    const d = await h.get();
    const m = d.nodes.find((n) => n.id === 'm')!;
    expect(m).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('get and cancel of an unknown dag', async () => {
    await expect(os.serverless.get('no-such')).rejects.toBeInstanceOf(DagNotFoundError);
    await expect(os.serverless.cancel('no-such')).rejects.toThrow(/no dag with id "no-such"/);
  });

  it('bad service options are refused at open', async () => {
    await expect(openTestOS({ serverless: { maxNodes: 0 } })).rejects.toBeInstanceOf(ConfigError);
  });
});
