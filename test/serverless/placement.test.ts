// Placement through the scheduler: a node runs on the worker that holds its data shard, and
// starts only when its memory is free there, which it gives back when it ends.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { startFixture, type RunningFixture } from '../support/spawn.js';
import { waitFor } from '../support/wait.js';
import { registerCrashFunctions } from './fixtures/functions.js';

const EXECUTOR = fileURLToPath(new URL('./fixtures/executor.ts', import.meta.url));
let os: TableOS;
let other: RunningFixture;
let otherId = '';
let release: () => void = () => undefined;
const held = new Promise<void>((r) => (release = r));

beforeAll(async () => {
  const url = await createTestDatabase();
  os = await openTestOS({ databaseUrl: url });
  await os.sql`create table public.effects (node text not null, pid int not null)`;
  registerCrashFunctions(os, undefined);
  os.serverless.fn('hold', async () => held, { kind: 'step', memoryMb: 100 });
  await os.scheduler.start({ capacity: 4, memoryMb: 150, shards: ['here'], pollMs: 200 });
  other = startFixture(EXECUTOR, {
    env: {
      DATABASE_URL: url,
      TABLEOS_LOG_LEVEL: 'silent',
      DAG_SHARDS: 'there',
      // A lapsed lease would make it dead to the dispatcher and its nodes run here.
      DAG_LEASE_MS: '10000',
      DAG_LOG: undefined,
    },
  });
  otherId = await new Promise<string>((resolve, reject) => {
    let out = '';
    other.child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void other.exited.then((e) => reject(new Error(`executor exited: ${e.stderr}`)), reject);
  });
});

afterAll(async () => {
  other.child.kill('SIGKILL');
  await other.exited;
});

describe('placement', () => {
  it('runs each node on the worker holding its shard', async () => {
    const keys = ['here', 'there', 'there', 'here', 'there', 'here'];
    const h = await os.serverless.submit({
      nodes: keys.map((k, i) => ({ id: `n${i}`, fn: 'where', args: [k] })),
    });
    const out = await h.result();
    const want = Object.fromEntries(
      keys.map((k, i) => [`n${i}`, k === 'here' ? os.executor!.id : otherId]),
    );
    expect(out).toEqual(want);
    const d = await h.get();
    expect(d.nodes.map((n) => n.localityKey)).toEqual(keys);
    expect(d.nodes.every((n) => n.workerId === `${String(out[n.id])}/0`)).toBe(true);
  });

  it('starts a node only when its memory is free on the worker, and gives it back', async () => {
    // Both need 100 MB; this worker offers 150 and the other executor does not run 'hold'.
    const h = await os.serverless.submit({
      nodes: [
        { id: 'm1', fn: 'hold' },
        { id: 'm2', fn: 'hold' },
      ],
    });
    await waitFor(async () => (await h.get()).nodes.some((n) => n.status === 'running'), {
      what: 'one node to start',
    });
    const mine = async () =>
      (await os.scheduler.workers()).find((w) => w.executorId === os.executor!.id)!;
    expect((await mine()).memFreeMb).toBe(50);
    const d = await h.get();
    expect(d.nodes.map((n) => n.status).sort()).toEqual(['ready', 'running']);
    release();
    expect(await h.result()).toEqual({ m1: null, m2: null });
    // Given back by the task's completion, which follows the node's commit.
    await waitFor(async () => (await mine()).memFreeMb === 150, { what: 'the memory to be free' });
    const [a, b] = (await h.get()).nodes;
    // One after the other: the second started once the first had ended.
    const [first, second] = a!.startedAt! < b!.startedAt! ? [a!, b!] : [b!, a!];
    expect(second.startedAt!.getTime()).toBeGreaterThanOrEqual(first.finishedAt!.getTime());
  });

  it('the dag policy keeps a node for the holder of its shard a bounded time, then places it elsewhere', async () => {
    // The holder ('there', the other executor) is not among the candidates: it has no room.
    const pick = async (waitedMs: number) => {
      const [r] = await os.sql<{ w: string | null }[]>`
        select tableos.dag_policy_locality(
          jsonb_populate_record(null::tableos.task, jsonb_build_object(
            'locality_key', 'there', 'run_at', clock_timestamp() - make_interval(secs => ${waitedMs} / 1000.0))),
          array(select w from tableos.worker w where w.executor_id = ${os.executor!.id})) w`;
      return r!.w;
    };
    expect(await pick(0)).toBeNull();
    expect(await pick(1000)).toBe(`${os.executor!.id}/0`);
    const [wait] = await os.sql<{ ms: number }[]>`
      select extract(epoch from tableos.dag_locality_wait()) * 1000 ms`;
    expect(Number(wait!.ms)).toBe(500);
  });
});
