// ctx.send / ctx.recv: workflows talking through mailboxes, exactly once.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { runFixture, type FixtureExit } from '../support/spawn.js';
import { waitFor } from '../support/wait.js';

const WORKER = fileURLToPath(new URL('./fixtures/msg-worker.ts', import.meta.url));
const pools: postgres.Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

function runWorker(url: string, env: Record<string, string> = {}): Promise<FixtureExit> {
  return runFixture(WORKER, { env: { DATABASE_URL: url, ...env } });
}

describe('workflow messaging', () => {
  it('sends to another workflow and receives by topic, with recv timing out to undefined', async () => {
    const os = await openTestOS();
    const wf = os.workflows;
    const ponger = wf.workflow('ponger', async (ctx) => {
      const ping = await ctx.recv<{ n: number }>({ topic: 'ping', timeoutMs: 10_000 });
      await ctx.send('pinger-1', { n: (ping?.n ?? -1) + 1 }, { topic: 'pong' });
      const nothing = await ctx.recv({ topic: 'never', timeoutMs: 50 });
      return nothing === undefined ? 'timed out' : 'got something';
    });
    const pinger = wf.workflow('pinger', async (ctx) => {
      await ctx.send('ponger-1', { n: 41 }, { topic: 'ping' });
      return ctx.recv<{ n: number }>({ topic: 'pong', timeoutMs: 10_000 });
    });
    const b = await ponger.start([], { id: 'ponger-1' });
    const a = await pinger.start([], { id: 'pinger-1' });
    expect(await a.result({ timeoutMs: 20_000 })).toEqual({ n: 42 });
    expect(await b.result({ timeoutMs: 20_000 })).toBe('timed out');
    // Both messages were consumed; each send and receive is one recorded position.
    const [left] = await os.sql<{ n: number }[]>`select count(*)::int as n from tableos.message`;
    expect(left!.n).toBe(0);
    const calls = await os.sql<{ workflow_id: string; kind: string; name: string }[]>`
      select workflow_id, kind, name from tableos.workflow_call
       where kind in ('send', 'recv') order by workflow_id, seq`;
    expect(calls).toEqual([
      { workflow_id: 'pinger-1', kind: 'send', name: 'ponger-1' },
      { workflow_id: 'pinger-1', kind: 'recv', name: 'pong' },
      { workflow_id: 'ponger-1', kind: 'recv', name: 'ping' },
      { workflow_id: 'ponger-1', kind: 'send', name: 'pinger-1' },
      { workflow_id: 'ponger-1', kind: 'recv', name: 'never' },
    ]);
  });

  it('receives a message sent from outside any workflow', async () => {
    const os = await openTestOS();
    const waiter = os.workflows.workflow('waiter', async (ctx) =>
      ctx.recv<string>({ timeoutMs: 10_000 }),
    );
    const h = await waiter.start([], { id: 'waiter-1' });
    await os.messaging.send('waiter-1', 'hello');
    expect(await h.result({ timeoutMs: 20_000 })).toBe('hello');
  });

  it('refuses bad topics, timeouts and mailbox names before writing anything', async () => {
    const os = await openTestOS();
    const bad = os.workflows.workflow('bad', async (ctx, what: string) => {
      if (what === 'topic') await ctx.send('x', 1, { topic: 'no spaces allowed' });
      if (what === 'timeout') await ctx.recv({ timeoutMs: -5 });
      if (what === 'to') await ctx.send('', 1);
      return 'unreachable';
    });
    for (const what of ['topic', 'timeout', 'to']) {
      const h = await bad.start([what], { id: `bad-${what}` });
      await expect(h.result({ timeoutMs: 10_000 })).rejects.toThrow(/topic|timeout|mailbox/);
    }
    const [sent] = await os.sql<{ n: number }[]>`select count(*)::int as n from tableos.message`;
    expect(sent!.n).toBe(0);
    const idTooLong = os.workflows.workflow('long', async (ctx) => ctx.recv({ timeoutMs: 10 }));
    const h = await idTooLong.start([], { id: `x${'y'.repeat(200)}` });
    await expect(h.result({ timeoutMs: 10_000 })).rejects.toThrow(/cannot name a mailbox/);
  });

  for (const hit of [2, 5, 9]) {
    it(`killed after transactional commit #${hit}: every message delivered and recorded once`, async () => {
      const url = await createTestDatabase();
      const sql = postgres(url, { max: 2, onnotice: () => undefined });
      pools.push(sql);
      const crashed = await runWorker(url, {
        TABLEOS_FAULT: `workflows:procedure-committed@${hit}`,
      });
      expect(crashed.signal).toBe('SIGKILL');
      const after = await runWorker(url);
      expect(after.stderr).toBe('');
      expect(after.code).toBe(0);
      expect(after.stdout.trim()).toBe('sent 0,1,2,3,4');
      const got = await sql<
        { n: number; c: number }[]
      >`select n, count(*)::int as c from got group by n order by n`;
      expect(got).toEqual([0, 1, 2, 3, 4].map((n) => ({ n, c: 1 })));
      const [left] = await sql<{ n: number }[]>`select count(*)::int as n from tableos.message`;
      expect(left!.n).toBe(0);
      const sends = await sql<{ n: number }[]>`
        select count(*)::int as n from tableos.workflow_call where workflow_id = 'producer-1' and kind = 'send'`;
      expect(sends[0]!.n).toBe(5);
    });
  }

  for (const hit of [1, 4, 7]) {
    it(`the answer to transactional commit #${hit} lost (~disconnect): each message still delivered and recorded once`, async () => {
      const url = await createTestDatabase();
      const sql = postgres(url, { max: 2, onnotice: () => undefined });
      pools.push(sql);
      const run = await runWorker(url, {
        TABLEOS_LOG_LEVEL: 'silent',
        TABLEOS_FAULT: `workflows:procedure-committed@${hit}~disconnect`,
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toBe('sent 0,1,2,3,4');
      const got = await sql<{ n: number; c: number }[]>`
        select n, count(*)::int as c from got group by n order by n`;
      expect(got).toEqual([0, 1, 2, 3, 4].map((n) => ({ n, c: 1 })));
      const calls = await sql<{ kind: string; n: number }[]>`
        select kind, count(*)::int as n from tableos.workflow_call
         where kind in ('send', 'recv') group by kind order by kind`;
      expect(calls).toEqual([
        { kind: 'recv', n: 5 },
        { kind: 'send', n: 5 },
      ]);
    });
  }

  it('a resumed run replays a consumed message at once, tags and all, without waiting for its deadline', async () => {
    const url = await createTestDatabase();
    // Bodies with the serializer's tag key, at the top and nested, come back as they were sent.
    const body = { $t: 'Date', v: [1, { $t: 'x', deep: { $t: null } }], plain: 'text' };
    const first = await openTestOS({ databaseUrl: url });
    let seenLive: unknown;
    const blockForever = new Promise<never>(() => undefined);
    const define = (os: typeof first, gate: (m: unknown) => Promise<unknown>) => {
      const hold = os.workflows.step('hold', gate);
      return os.workflows.workflow('relay', async (ctx) => {
        const m = await ctx.recv({ timeoutMs: 60_000 });
        await ctx.call(hold, m);
        return m;
      });
    };
    const relay = define(first, (m) => {
      seenLive = m;
      return blockForever;
    });
    await first.messaging.send('relay-1', body);
    await relay.start([], { id: 'relay-1' });
    await waitFor(() => seenLive !== undefined, { what: 'the live receive' });
    expect(seenLive).toEqual(body);
    // The message is consumed and recorded; this executor goes away with the run unfinished.
    await first.close();
    const second = await openTestOS({ databaseUrl: url });
    define(second, (m) => Promise.resolve(m));
    // With a 60 s receive timeout, a replay that waited for a message would not end in time.
    expect(await second.workflows.handle('relay-1').result({ timeoutMs: 20_000 })).toEqual(body);
    const [left] = await second.sql<
      { n: number }[]
    >`select count(*)::int as n from tableos.message`;
    expect(left!.n).toBe(0);
  });

  it('a receive resumed elsewhere keeps its recorded deadline', async () => {
    const url = await createTestDatabase();
    const define = (os: Awaited<ReturnType<typeof openTestOS>>) =>
      os.workflows.workflow('patient', async (ctx) => {
        const m = await ctx.recv({ timeoutMs: 120_000 });
        return m === undefined ? 'timed out' : m;
      });
    const first = await openTestOS({ databaseUrl: url });
    await define(first).start([], { id: 'patient-1' });
    // The first attempt of the receive wrote the wait's deadline (nothing was there yet).
    const waits = () => first.sql<{ seq: number; output: string }[]>`
      select seq, output from tableos.workflow_call where workflow_id = 'patient-1' and kind = 'wait'`;
    await waitFor(async () => (await waits()).length === 1, { what: "the wait's record" });
    const [wait] = await waits();
    expect(Number(wait!.output)).toBeGreaterThan(Date.now() + 60_000);
    await first.close();
    const second = await openTestOS({ databaseUrl: url });
    // As if the time had passed while no executor ran the run: the deadline is now.
    await second.sql`update tableos.workflow_call set output = ${String(Date.now())}
                      where workflow_id = 'patient-1' and kind = 'wait'`;
    define(second);
    // A resumed receive that started its 120 s over would not end within the test.
    expect(await second.workflows.handle('patient-1').result({ timeoutMs: 20_000 })).toBe(
      'timed out',
    );
    const calls = await second.sql<{ seq: number; kind: string; output: string | null }[]>`
      select seq, kind, output from tableos.workflow_call where workflow_id = 'patient-1' order by seq`;
    expect(calls.map((c) => [c.seq, c.kind])).toEqual([
      [0, 'wait'],
      [1, 'recv'],
    ]);
    expect(calls[1]!.output).toBeNull();
  });
});
