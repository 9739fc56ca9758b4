// The rolling upgrade: node A runs app version v1 and node B v2 on one database. Runs started
// on A are in flight when A is SIGKILLed: they show as stranded, B does not run them, and
// they finish exactly once when moved to v2 on purpose (tableos wf resume --version) or when a
// v1 node starts. A comes back upgraded to v2 and still leaves v1 runs alone. Effects are
// counted in a table with no unique key, so a repeated effect would show.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { runCli, startCli, type RunningCli } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';

const APP = fileURLToPath(new URL('./fixtures/versioned.app.ts', import.meta.url));
const pools: postgres.Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

interface Node {
  cli: RunningCli;
  id: string;
  base: string;
}

async function startNode(url: string, version: string): Promise<Node> {
  const cli = startCli(['start', APP], {
    DATABASE_URL: url,
    APP_VERSION: version,
    TABLEOS_HTTP_PORT: '0',
    // A lease short enough for quick takeovers, long enough that a busy machine does not
    // end a live node's lease (it would come back under a new executor id).
    TABLEOS_HEARTBEAT_MS: '200',
    TABLEOS_LEASE_MS: '2000',
  });
  const [, base] = await cli.waitFor(/^ {2}http {6}(http:\/\/\S+)$/m);
  const [, id] = /executor (\S+)/.exec(cli.stdout())!;
  return { cli, id: id!, base: base! };
}

async function postJob(node: Node, key: string, n: number): Promise<string> {
  const res = await fetch(`${node.base}/jobs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'idempotency-key': key,
      prefer: 'respond-async',
    },
    body: JSON.stringify({ n }),
  });
  expect(res.status).toBe(202);
  return res.headers.get('tableos-run-id')!;
}

async function kill(node: Node): Promise<void> {
  node.cli.child.kill('SIGKILL');
  await node.cli.exited;
}

it('a rolling upgrade loses and repeats nothing', async () => {
  const url = await createTestDatabase();
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  pools.push(sql);
  const env = { DATABASE_URL: url };
  const runs = (ids: string[]) => sql<
    {
      id: string;
      status: string;
      executor_id: string;
      app_version: string;
      version_moved_from: string | null;
      output: string | null;
    }[]
  >`select id, status, executor_id, app_version, version_moved_from, output from tableos.workflow
     where id = any(${ids}) order by id`;
  const effects = (ids: string[]) => sql<{ run_id: string; phase: string; n: number }[]>`
    select run_id, phase, count(*)::int as n from app_effect where run_id = any(${ids})
     group by run_id, phase order by run_id, phase`;

  const [a, b] = await Promise.all([startNode(url, 'v1'), startNode(url, 'v2')]);
  const ids = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => postJob(a, `k-${i}`, i)));
  ids.sort();
  await waitFor(async () => (await effects(ids)).length === 6, {
    what: "A's runs to record their first effect",
  });
  expect((await runs(ids)).map((r) => [r.app_version, r.executor_id])).toEqual(
    ids.map(() => ['v1', a.id]),
  );

  // A third node, on v2, with a run of its own: when B takes that one over, B's claim has
  // seen A's runs claimable too.
  const c = await startNode(url, 'v2');
  const probe = await postJob(c, 'probe', 99);
  await waitFor(async () => (await effects([probe])).length === 1, {
    what: 'the probe run to start',
  });

  await kill(a);
  await waitFor(
    async () => {
      const rows = await sql<{ id: string }[]>`select id from tableos.wf_stranded order by id`;
      return rows.map((r) => r.id).join() === ids.join();
    },
    { what: "A's runs to show as stranded" },
  );
  await waitFor(
    async () =>
      (await sql`select 1 from tableos.executor where id = ${a.id} and status = 'dead'`).length ===
      1,
    { what: "A's executor to be reaped" },
  );
  await kill(c);
  await sql`insert into app_gate values (true)`;
  await waitFor(async () => (await runs([probe]))[0]!.status === 'success', {
    what: 'B to take over the v2 probe run',
  });
  expect((await runs([probe]))[0]).toMatchObject({ executor_id: b.id, app_version: 'v2' });
  // ... and left A's v1 runs alone.
  expect((await runs(ids)).map((r) => [r.status, r.executor_id])).toEqual(
    ids.map(() => ['pending', a.id]),
  );
  expect((await effects(ids)).filter((e) => e.phase === 'after')).toEqual([]);

  const listed = await runCli(['wf', 'list', '--stranded'], env);
  expect(listed.code).toBe(0);
  for (const id of ids)
    expect(listed.stdout).toMatch(new RegExp(`^ ${id} \\| job +\\| jobs \\| v1 `, 'm'));
  expect(listed.stdout).toContain('(6 rows)');

  // A version nobody deployed is refused and moves nothing.
  const bad = await runCli(['wf', 'resume', ids[0]!, '--version', 'v9'], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('app jobs has no version "v9": deployed versions are v1, v2');
  expect((await runs([ids[0]!]))[0]).toMatchObject({ app_version: 'v1', version_moved_from: null });

  // Half moved to v2 on purpose: B finishes them.
  const moved = ids.slice(0, 3);
  for (const id of moved) {
    const r = await runCli(['wf', 'resume', id, '--version', 'v2'], env);
    expect(r.stdout.trim()).toBe(`moved ${id} from version v1 to v2`);
  }
  await waitFor(async () => (await runs(moved)).every((r) => r.status === 'success'), {
    what: 'the moved runs to finish on v2',
  });
  expect(
    (await runs(moved)).map((r) => [
      r.executor_id,
      r.app_version,
      r.version_moved_from,
      JSON.parse(r.output!) as unknown,
    ]),
  ).toEqual(
    moved.map((_, i) => [b.id, 'v2', 'v1', { n: Number(ids[i]!.slice(-1)), finishedBy: 'v2' }]),
  );

  // A comes back upgraded to v2: the other half stays stranded, not run on v2 code.
  const a2 = await startNode(url, 'v2');
  const rest = ids.slice(3);
  const stranded = await sql<{ id: string }[]>`select id from tableos.wf_stranded order by id`;
  expect(stranded.map((r) => r.id)).toEqual(rest);
  // A v1 node resumes them as recovery of its own version.
  const d = await startNode(url, 'v1');
  await waitFor(async () => (await runs(rest)).every((r) => r.status === 'success'), {
    what: 'the v1 runs to finish on the v1 node',
  });
  expect(
    (await runs(rest)).map((r) => [
      r.executor_id,
      r.app_version,
      r.version_moved_from,
      (JSON.parse(r.output!) as { finishedBy: string }).finishedBy,
    ]),
  ).toEqual(rest.map(() => [d.id, 'v1', null, 'v1']));

  // Every run has each effect exactly once.
  expect(await effects([...ids, probe])).toEqual(
    [...ids, probe].sort().flatMap((id) => [
      { run_id: id, phase: 'after', n: 1 },
      { run_id: id, phase: 'before', n: 1 },
    ]),
  );
  expect(await sql`select 1 from tableos.wf_stranded`).toHaveLength(0);

  for (const n of [b, a2, d]) n.cli.child.kill('SIGTERM');
  expect(await Promise.all([b, a2, d].map((n) => n.cli.exited))).toEqual([0, 0, 0]);
}, 120_000);
