// Failure policy (retries with backoff, then fail the graph or continue), cancel and timeout.
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import {
  DagCancelledError,
  DagFailedError,
  DagTimedOutError,
} from '../../src/serverless/errors.js';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

let os: TableOS;
const calls = new Map<string, number>();
const count = (id: string) => calls.set(id, (calls.get(id) ?? 0) + 1).get(id)!;
// Held nodes wait until the test lets them go.
let release: () => void = () => undefined;
let held = new Promise<void>((r) => (release = r));

beforeAll(async () => {
  os = await openTestOS();
  const s = os.serverless;
  s.fn('num', (_ctx, n: number) => n, { kind: 'procedure' });
  s.fn(
    'sum',
    (ctx) => (ctx.inputs as (number | null)[]).reduce<number>((a, b) => a + (b ?? 0), 0),
    {
      kind: 'procedure',
    },
  );
  // Fails until its nth call.
  s.fn(
    'flaky',
    (ctx, okAt: number) => {
      const n = count(`${ctx.dagId}/${ctx.nodeId}`);
      if (n < okAt) throw new RangeError(`attempt ${n} failed`);
      return n;
    },
    { kind: 'step' },
  );
  s.fn('hold', async () => held, { kind: 'step' });
  await os.scheduler.start({ capacity: 4, pollMs: 200 });
});

describe('failure policy', () => {
  it('retries a node with backoff until it succeeds', async () => {
    const t0 = Date.now();
    const h = await os.serverless.submit(
      { nodes: [{ id: 'f', fn: 'flaky', args: [3] }], retries: 3, backoffMs: 100 },
      { id: 'retry-ok' },
    );
    expect(await h.result()).toEqual({ f: 3 });
    // Two pauses: 100 ms, then 200 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    const [n] = (await h.get()).nodes;
    expect(n).toMatchObject({ status: 'done', attempts: 3, maxAttempts: 4 });
  });

  it('fails the graph after the last retry and cancels what had not started', async () => {
    const h = await os.serverless.submit(
      {
        nodes: [
          { id: 'bad', fn: 'flaky', args: [99], retries: 1, backoffMs: 10 },
          { id: 'after', fn: 'sum' },
        ],
        edges: [['bad', 'after']],
      },
      { id: 'fail-graph' },
    );
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DagFailedError);
    expect((err as DagFailedError).error).toBe('node "bad" failed: attempt 2 failed');
    const d = await h.get();
    expect(d.status).toBe('failed');
    expect(Object.fromEntries(d.nodes.map((n) => [n.id, n.status]))).toEqual({
      bad: 'failed',
      after: 'cancelled',
    });
    expect(calls.get('fail-graph/bad')).toBe(2);
  });

  it('continues past a failed node marked continue; its children get null', async () => {
    const h = await os.serverless.submit(
      {
        nodes: [
          { id: 'a', fn: 'num', args: [4] },
          { id: 'bad', fn: 'flaky', args: [99], onFailure: 'continue' },
          { id: 'total', fn: 'sum' },
        ],
        edges: [
          ['a', 'total'],
          ['bad', 'total'],
        ],
      },
      { id: 'continue' },
    );
    expect(await h.result()).toEqual({ total: 4 });
    const d = await h.get();
    expect(d.status).toBe('done');
    expect(d.nodes.find((n) => n.id === 'bad')).toMatchObject({
      status: 'failed',
      error: 'attempt 1 failed',
    });
  });
});

describe('cancel and timeout', () => {
  it('cancels a running graph: pending nodes cancelled, result rejects', async () => {
    held = new Promise<void>((r) => (release = r));
    const h = await os.serverless.submit(
      {
        nodes: [
          { id: 'slow', fn: 'hold' },
          { id: 'next', fn: 'sum' },
        ],
        edges: [['slow', 'next']],
      },
      { id: 'cancel-me' },
    );
    await waitFor(async () => (await h.get()).nodes[0]!.status === 'running', {
      what: 'the held node to start',
    });
    const c = await os.serverless.cancel('cancel-me');
    expect(c.status).toBe('cancelled');
    // A second cancel changes nothing.
    expect((await os.serverless.cancel('cancel-me')).status).toBe('cancelled');
    await expect(h.result()).rejects.toBeInstanceOf(DagCancelledError);
    release();
    await waitFor(
      async () => (await h.get()).nodes.find((n) => n.id === 'slow')!.status === 'done',
    );
    const d = await h.get();
    // The running node finished; nothing started after it.
    expect(d.nodes.find((n) => n.id === 'next')!.status).toBe('cancelled');
    expect(d.nodes.find((n) => n.id === 'next')!.startedAt).toBeNull();
  });

  it('times a whole graph out', async () => {
    held = new Promise<void>((r) => (release = r));
    const h = await os.serverless.submit(
      {
        nodes: [
          { id: 'slow', fn: 'hold' },
          { id: 'next', fn: 'sum' },
        ],
        edges: [['slow', 'next']],
        timeoutMs: 300,
      },
      { id: 'time-out' },
    );
    await expect(h.result()).rejects.toBeInstanceOf(DagTimedOutError);
    const d = await h.get();
    expect(d.status).toBe('timed_out');
    expect(d.nodes.find((n) => n.id === 'next')!.status).toBe('cancelled');
    release();
  });
});
