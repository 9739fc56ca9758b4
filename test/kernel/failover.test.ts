// A node under steady load while its PostgreSQL goes away: a fast restart, a kill -9 and
// start, and a failover to a synchronous standby. Afterwards everything the callers were told
// succeeded is there exactly once: workflows finished, their procedure ran once, their send
// arrived once, tasks done, plain messages received once.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { addSyncStandby, failoverUrl, initPrimary, type PgServer } from '../support/pg-server.js';
import { startFixture } from '../support/spawn.js';
import { waitFor } from '../support/wait.js';

const LOAD = fileURLToPath(new URL('./fixtures/load.ts', import.meta.url));
const WORKFLOWS = 100;
const TASKS = 100;
const MESSAGES = 100;
const INTERVAL_MS = 40;
const DATABASE = 'tableos_load';

interface Event {
  ev: string;
  id?: string;
  k?: number;
  result?: unknown;
  codes?: string[];
  query?: string;
  message?: string;
}

interface LoadRun {
  events: Event[];
  stderr: string;
  /** Workflows whose start had returned when the fault began. */
  startedAtFault: number;
  exit: string;
}

/** Runs the load fixture against url and calls fault once a third of the workflows started. */
async function runLoad(url: string, fault: () => Promise<void>): Promise<LoadRun> {
  const fixture = startFixture(LOAD, {
    args: [WORKFLOWS, TASKS, MESSAGES, INTERVAL_MS].map(String),
    env: { DATABASE_URL: url, TABLEOS_RECONNECT_DEADLINE_MS: '15000' },
    timeoutMs: 50_000,
  });
  const events: Event[] = [];
  let buffered = '';
  fixture.child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as Event);
  });
  let stderr = '';
  fixture.child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = fixture.exited.then(
    (e) => `code ${e.code}${e.signal ? `, signal ${e.signal}` : ''}`,
    (err: Error) => err.message.split('\n')[0]!.slice(0, 200),
  );
  const started = () => events.filter((e) => e.ev === 'wf-started').length;
  await waitFor(() => started() >= WORKFLOWS / 3 || fixture.child.exitCode !== null, {
    what: 'the load to get going',
    timeoutMs: 30_000,
  });
  const startedAtFault = started();
  await fault();
  const exit = await exited;
  return { events, stderr, startedAtFault, exit };
}

const ids = (xs: Iterable<string | number>) => {
  const all = [...xs];
  return `${all.slice(0, 8).join(', ')}${all.length > 8 ? `, ... (${all.length})` : ''}`;
};

/** Everything that went wrong, as sentences; empty when the run kept every promise. */
async function problems(run: LoadRun, sql: postgres.Sql): Promise<string[]> {
  const out: string[] = [];
  const of = (ev: string) => run.events.filter((e) => e.ev === ev);
  if (run.exit !== 'code 0') out.push(`the load fixture ended with ${run.exit}`);
  if (run.startedAtFault >= WORKFLOWS)
    out.push('the fault came after the load had finished: nothing was tested');

  // What callers were told: grouped by operation, error codes and statement.
  const failures = new Map<string, string[]>();
  for (const e of run.events.filter((x) => x.ev.endsWith('-failed'))) {
    const key = `${e.ev} with ${(e.codes ?? []).join(' < ') || 'no code'}${e.query ? ` from ${e.query}` : ''}`;
    failures.set(key, [...(failures.get(key) ?? []), e.message ?? '']);
  }
  for (const [key, messages] of failures)
    out.push(`${messages.length} x ${key} (first: ${messages[0]!.slice(0, 240)})`);

  // Workflows: each started run finished with the value of one procedure run.
  const started = new Set(of('wf-started').map((e) => e.id!));
  const done = new Map(of('wf-done').map((e) => [e.id!, e.result]));
  const never = [...Array(WORKFLOWS).keys()]
    .map((i) => `wf-${i}`)
    .filter((id) => !started.has(id) && !of('wf-start-failed').some((e) => e.id === id));
  if (never.length > 0) out.push(`workflows never started: ${ids(never)}`);
  const unfinished = [...started].filter((id) => !done.has(id));
  if (unfinished.length > 0) out.push(`workflows started but not finished: ${ids(unfinished)}`);
  const wrong = [...done].filter(([id, r]) => r !== `${id}:1:noted ${id}`);
  if (wrong.length > 0)
    out.push(
      `workflows with a wrong result: ${wrong.map(([id, r]) => `${id}=${String(r)}`).join(', ')}`,
    );

  const rows = await sql<{ wf: string; n: number; status: string | null; outbox: number }[]>`
    select c.wf, c.n, w.status,
           (select count(*)::int from tableos.message m
             where m.receiver = 'load-out' and m.body->>'id' = c.wf) as outbox
      from public.load_counter c left join tableos.workflow w on w.id = c.wf`;
  const counted = new Map(rows.map((r) => [r.wf, r]));
  const twice = rows.filter((r) => r.n !== 1);
  if (twice.length > 0)
    out.push(
      `procedure effects doubled: ${twice.map((r) => `${r.wf} ran ${r.n} times`).join(', ')}`,
    );
  const lost = [...started].filter((id) => !counted.has(id));
  if (lost.length > 0) out.push(`procedure effects lost for started workflows: ${ids(lost)}`);
  const notSuccess = [...started].filter((id) => counted.get(id)?.status !== 'success');
  if (notSuccess.length > 0)
    out.push(
      `started workflows not in status success: ${notSuccess.map((id) => `${id}=${counted.get(id)?.status ?? 'missing'}`).join(', ')}`,
    );
  const sends = [...started].filter((id) => (counted.get(id)?.outbox ?? 0) !== 1);
  if (sends.length > 0)
    out.push(
      `workflow sends not there exactly once: ${sends.map((id) => `${id} x${counted.get(id)?.outbox ?? 0}`).join(', ')}`,
    );

  // Tasks: each enqueued once and done.
  const enqueued = new Set(of('task-enqueued').map((e) => e.k!));
  const tasksDone = new Set(of('task-done').map((e) => e.k!));
  const taskRows = await sql<{ k: number; n: number; done: number }[]>`
    select (payload->>'k')::int as k, count(*)::int as n,
           count(*) filter (where state = 'done')::int as done
      from tableos.task where queue = 'load-q' group by 1`;
  const byK = new Map(taskRows.map((r) => [r.k, r]));
  const notDone = [...enqueued].filter((k) => !tasksDone.has(k) || byK.get(k)?.done !== 1);
  if (notDone.length > 0) out.push(`tasks enqueued but not done: ${ids(notDone)}`);
  const dupTasks = taskRows.filter((r) => r.n !== 1);
  if (dupTasks.length > 0)
    out.push(
      `tasks enqueued more than once: ${dupTasks.map((r) => `k=${r.k} x${r.n}`).join(', ')}`,
    );
  const missingTasks = [...enqueued].filter((k) => !byK.has(k));
  if (missingTasks.length > 0) out.push(`acknowledged tasks missing: ${ids(missingTasks)}`);

  // Plain messages: every acknowledged send received exactly once.
  const sent = new Set(of('sent').map((e) => e.k!));
  const receivedCount = new Map<number, number>();
  for (const e of of('recv')) receivedCount.set(e.k!, (receivedCount.get(e.k!) ?? 0) + 1);
  const left = await sql<{ k: number }[]>`
    select (body->>'k')::int as k from tableos.message where receiver = 'load-plain'`;
  const leftK = new Set(left.map((r) => r.k));
  const lostMsgs = [...sent].filter((k) => !receivedCount.has(k) && !leftK.has(k));
  if (lostMsgs.length > 0) out.push(`acknowledged messages lost: ${ids(lostMsgs)}`);
  const unreceived = [...sent].filter((k) => !receivedCount.has(k) && leftK.has(k));
  if (unreceived.length > 0) out.push(`acknowledged messages never received: ${ids(unreceived)}`);
  const dupMsgs = [...receivedCount].filter(([, n]) => n > 1);
  if (dupMsgs.length > 0)
    out.push(
      `messages received more than once: ${dupMsgs.map(([k, n]) => `${k} x${n}`).join(', ')}`,
    );
  return out;
}

function summary(run: LoadRun): string {
  const count = (ev: string) => run.events.filter((e) => e.ev === ev).length;
  return [
    `fault after ${run.startedAtFault} workflow starts; fixture ${run.exit}`,
    `workflows started ${count('wf-started')}/${WORKFLOWS}, done ${count('wf-done')}`,
    `tasks enqueued ${count('task-enqueued')}/${TASKS}, done ${count('task-done')}`,
    `messages sent ${count('sent')}/${MESSAGES}, received ${count('recv')}`,
    `node log (last lines):\n${run.stderr.trim().split('\n').slice(-12).join('\n')}`,
  ].join('\n');
}

async function serverWithDatabase(): Promise<PgServer> {
  const server = await initPrimary();
  await server.start();
  const admin = postgres(server.url(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${DATABASE}`);
  await admin.end();
  return server;
}

async function check(run: LoadRun, url: string): Promise<void> {
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  try {
    expect(await problems(run, sql), summary(run)).toEqual([]);
  } finally {
    await sql.end();
  }
}

describe('a node under load while its PostgreSQL restarts', () => {
  it('fast restart (pg_ctl restart -m fast): everything completes, nothing twice', async () => {
    const server = await serverWithDatabase();
    const before = server.postmasterPid();
    const run = await runLoad(server.url(DATABASE), () => server.restart());
    expect(server.postmasterPid()).not.toBe(before);
    await check(run, server.url(DATABASE));
  }, 75_000);

  it('kill -9 of the postmaster, then start (crash recovery): everything completes, nothing twice', async () => {
    const server = await serverWithDatabase();
    const run = await runLoad(server.url(DATABASE), async () => {
      await server.kill();
      await server.start();
    });
    await check(run, server.url(DATABASE));
  }, 75_000);
});

describe('failover to a synchronous standby', () => {
  it('kill -9 of the primary mid-load, promote the standby: zero committed loss', async () => {
    const primary = await serverWithDatabase();
    const standby = await addSyncStandby(primary);
    const admin = postgres(primary.url(), { max: 1, onnotice: () => undefined });
    const [rep] = await admin<{ sync_state: string }[]>`
      select sync_state from pg_stat_replication where application_name = 'standby'`;
    await admin.end();
    expect(rep?.sync_state).toBe('sync');

    const url = failoverUrl([primary, standby], DATABASE);
    const run = await runLoad(url, async () => {
      await primary.kill();
      await standby.promote();
    });
    // Checked on the promoted standby: what the dead primary acknowledged must be there.
    await check(run, standby.url(DATABASE));
  }, 75_000);
});
