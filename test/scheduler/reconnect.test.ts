// The scheduler survives the database going away: every statement runs again on a fresh
// connection, and a retry after a commit whose answer was lost finds that commit instead of
// losing tasks, running them twice or failing them.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { runFixture, startFixture } from '../support/spawn.js';
import { waitFor } from '../support/wait.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/reconnect.ts', import.meta.url));
const STORM_WORKER = fileURLToPath(new URL('./fixtures/storm-worker.ts', import.meta.url));
const TASKS = 8;

const pools: postgres.Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

function connect(url: string): postgres.Sql {
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  pools.push(sql);
  return sql;
}

interface FixtureReport {
  runs: Record<string, number>;
  results: number[];
  wfResults: number[];
  ids: string[];
  existed: boolean[];
}

/** The fixture's log lines (pino JSON on stderr). */
function logLines(stderr: string): { level: number; msg: string; what?: string }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; what?: string });
}

describe('a committed statement whose answer was lost (~disconnect fault points)', () => {
  const cases = [
    // The slot registration at start claims the tasks enqueued before it.
    { point: 'claim-committed@1', statement: 'tableos.sched_worker_register', env: { PRE: '1' } },
    // The first wake-up takes the tasks the enqueue assigned to this executor.
    { point: 'claim-committed@2', statement: 'tableos.sched_next', env: {} },
    // Completions also place the next tasks here (PRE: with a backlog queued behind the
    // first two): the retry must return those too.
    { point: 'complete-committed@1', statement: 'tableos.sched_complete', env: { PRE: '1' } },
    { point: 'complete-committed@3', statement: 'tableos.sched_complete', env: {} },
    { point: 'enqueue-committed@1', statement: 'tableos.sched_enqueue', env: {} },
    { point: 'enqueue-committed@2', statement: 'tableos.sched_enqueue', env: {} },
    {
      point: 'workflow-enqueue-committed@2',
      statement: 'tableos.sched_enqueue_workflow',
      env: { WORKFLOWS: '3' },
    },
    { point: 'cron-fire-committed@2', statement: 'tableos.sched_cron_fire', env: { CRON: '3' } },
  ];
  // With no time to retry, the claim fails; the next poll asks for its tasks again.
  const noRetry = { TABLEOS_RECONNECT_DEADLINE_MS: '0', POLL_MS: '200' };
  const failing = [
    { point: 'claim-committed@2', log: 'scheduler wake-up failed', env: noRetry },
    {
      point: 'complete-committed@1',
      log: 'could not record task outcome yet; keeping it',
      env: { ...noRetry, PRE: '1' },
    },
  ];
  const all = [
    ...cases.map((c) => ({
      ...c,
      name: `lost at ${c.point}`,
      log: { msg: 'lost the database connection; retrying', what: c.statement },
    })),
    ...failing.map((c) => ({
      ...c,
      name: `lost at ${c.point}, no retry`,
      log: { msg: c.log },
    })),
  ];
  for (const c of all) {
    it(`${c.name}: every task runs once and completes`, async () => {
      const url = await createTestDatabase();
      const run = await runFixture(FIXTURE, {
        env: {
          DATABASE_URL: url,
          TASKS: String(TASKS),
          TABLEOS_FAULT: `scheduler:${c.point}~disconnect`,
          ...c.env,
        },
        timeoutMs: 45_000,
      });
      expect(run.code, run.stderr).toBe(0);
      const logs = logLines(run.stderr);
      // The fault fired where it was meant to, and nothing worse than that was logged.
      expect(logs.filter((l) => l.msg === c.log.msg)).toEqual([expect.objectContaining(c.log)]);
      expect(logs.filter((l) => l.level >= 50)).toEqual([]);

      const report = JSON.parse(run.stdout.trim()) as FixtureReport;
      expect(report.results).toEqual(Array.from({ length: TASKS }, (_, n) => n * 2));
      expect(report.existed).toEqual(Array<boolean>(TASKS).fill(false));
      const sql = connect(url);
      const rows = await sql<{ id: string; state: string; attempts: number }[]>`
        select id, state, attempts from tableos.task where kind = 'double' order by id`;
      // One task per enqueue, each done in its first attempt, each handler run once.
      expect(rows.map((r) => r.id)).toEqual([...report.ids].sort((a, b) => Number(a) - Number(b)));
      expect(rows.every((r) => r.state === 'done' && r.attempts === 1)).toBe(true);
      for (const id of report.ids) expect(report.runs[`task:${id}`], `task ${id}`).toBe(1);

      const workflows = Number('WORKFLOWS' in c.env ? c.env.WORKFLOWS : 0);
      expect(report.wfResults).toEqual(Array<number>(workflows).fill(4));
      const wf = await sql<{ state: string; n: number }[]>`
        select state, count(*)::int as n from tableos.task where kind = 'tableos.workflow' group by 1`;
      expect(wf).toEqual(workflows > 0 ? [{ state: 'done', n: workflows }] : []);
      for (let i = 0; i < workflows; i++) expect(report.runs[`step:wf-${i}`]).toBe(1);

      const cron = await sql<{ id: string; tick: Date; state: string }[]>`
        select id, cron_tick as tick, state from tableos.task
         where cron_name is not null order by cron_tick`;
      const ticks = Number('CRON' in c.env ? c.env.CRON : 0);
      // Each tick fired once (one task per tick time), and each fired tick ran once.
      expect(cron.filter((t) => t.state === 'done').length).toBeGreaterThanOrEqual(ticks);
      expect(new Set(cron.map((t) => t.tick.getTime())).size).toBe(cron.length);
      for (const t of cron.filter((r) => r.state === 'done'))
        expect(report.runs[`tick:${t.id}`], `tick ${t.id}`).toBe(1);
    });
  }
});

describe('backends terminated every 200 ms while tasks flow through a queue', () => {
  it('every task completes exactly once; none fails; no loop or process dies', async () => {
    const url = await createTestDatabase();
    const node = (opts: { executor?: boolean } = {}) =>
      openTestOS({ databaseUrl: url, heartbeatMs: 200, leaseMs: 10_000, poolSize: 4, ...opts });
    // Three executors here, one in a child process, and a client that only enqueues.
    const workers: TableOS[] = [await node(), await node(), await node()];
    const client = await node({ executor: false });
    const runs = new Map<string, number>();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (const os of workers) {
      os.scheduler.register('work', async (p: { n: number }, task: { id: string }) => {
        runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
        await sleep(p.n % 7);
        return p.n + 1;
      });
      os.scheduler.register('tick', (_p: unknown, task: { id: string }) => {
        runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
      });
    }
    const s = client.scheduler;
    await s.queue('storm');
    for (const os of workers) await os.scheduler.start({ capacity: 4, pollMs: 1000 });
    const child = startFixture(STORM_WORKER, { env: { DATABASE_URL: url }, timeoutMs: 120_000 });
    let childOut = '';
    child.child.stdout.on('data', (d: Buffer) => (childOut += d.toString()));
    await waitFor(() => childOut.includes('ready'), { what: 'the child worker' });
    await s.cron.add('storm-tick', '* * * * * *', { queue: 'storm', kind: 'tick' });

    const killer = connect(url);
    let rounds = 0;
    let killed = 0;
    let stop = false;
    const killing = (async () => {
      while (!stop) {
        const r = await killer<{ ok: boolean }[]>`
          select pg_terminate_backend(pid) as ok from pg_stat_activity
           where datname = current_database() and pid <> pg_backend_pid()`;
        killed += r.filter((x) => x.ok).length;
        rounds++;
        await sleep(200);
      }
    })();

    // Enqueued in bursts from the client and from an executor while the backends go.
    const handles = [];
    for (let burst = 0; burst < 15; burst++) {
      const from = burst % 2 === 0 ? s : workers[0]!.scheduler;
      handles.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            from.enqueue<number>('storm', 'work', { n: burst * 20 + i }),
          ),
        )),
      );
      await sleep(200);
    }
    const results = await Promise.allSettled(handles.map((h) => h.result()));
    stop = true;
    await killing;
    const stormEnd = new Date();

    expect(rounds).toBeGreaterThan(10);
    expect(killed).toBeGreaterThan(rounds);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(
      handles.map((_, n) => n + 1),
    );
    // The cron loop lived through it: a tick after the storm runs too.
    await waitFor(
      async () => {
        const [r] = await client.sql<{ n: number }[]>`
          select count(*)::int as n from tableos.task
           where cron_name = 'storm-tick' and cron_tick > ${stormEnd} and state = 'done'`;
        return r!.n > 0;
      },
      { what: 'a cron tick after the storm' },
    );
    await s.cron.pause('storm-tick');
    await waitFor(
      async () => {
        const [r] = await client.sql<{ n: number }[]>`
          select count(*)::int as n from tableos.task where state not in ('done', 'failed')`;
        return r!.n === 0;
      },
      { what: 'the last ticks to finish' },
    );

    child.child.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit.code, exit.stderr).toBe(0);
    for (const m of exit.stdout.matchAll(/ran (\d+)/g)) runs.set(m[1]!, (runs.get(m[1]!) ?? 0) + 1);

    const rows = await client.sql<{ id: string; kind: string; state: string; attempts: number }[]>`
      select id, kind, state, attempts from tableos.task order by id`;
    // One task per enqueue (no retried enqueue made another), plus the cron ticks.
    expect(rows.filter((r) => r.kind === 'work').map((r) => r.id)).toEqual(
      handles.map((h) => h.id).sort((a, b) => Number(a) - Number(b)),
    );
    expect(rows.filter((r) => r.state !== 'done')).toEqual([]);
    // Each ran once, in its first attempt: no task was lost, re-run or failed for the connection.
    expect(rows.filter((r) => r.attempts !== 1)).toEqual([]);
    expect(rows.filter((r) => runs.get(r.id) !== 1)).toEqual([]);
    expect(runs.size).toBe(rows.length);
    const ranInChild = [...exit.stdout.matchAll(/ran (\d+)/g)].length;
    expect(ranInChild).toBeGreaterThan(0);
    // A stress test: on a loaded machine (the suite's other files beside it) it takes twice as long.
  }, 150_000);
});
