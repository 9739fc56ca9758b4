// Messaging survives the database going away: sends, takes and calls whose connection was
// lost run again, and a send or a take whose commit went through but whose reply was lost is
// not done twice (run once by token: kernel.once, sql/0070_once.sql).
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, openTestOS, databaseUrlOf } from '../support/db.js';
import { runFixture } from '../support/spawn.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/lost-reply.ts', import.meta.url));
const COUNT = 10;
const pools: postgres.Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

describe('a committed send or take whose reply was lost (~disconnect fault points)', () => {
  for (const point of [
    'send-committed',
    'send-committed@3',
    'take-committed',
    'take-committed@2',
  ]) {
    it(`lost at ${point}: every message is delivered once, none lost`, async () => {
      const url = await createTestDatabase();
      const run = await runFixture(FIXTURE, {
        env: {
          DATABASE_URL: url,
          TABLEOS_LOG_LEVEL: 'silent',
          TABLEOS_FAULT: `messaging:${point}~disconnect`,
          COUNT: String(COUNT),
        },
        timeoutMs: 30_000,
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const got = JSON.parse(run.stdout.trim()) as number[];
      expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      const sql = postgres(url, { max: 1, onnotice: () => undefined });
      pools.push(sql);
      const [left] = await sql<{ n: number }[]>`
        select count(*)::int as n from tableos.message where receiver = 'inbox'`;
      expect(left!.n).toBe(0);
      // Outcomes whose replies arrived are forgotten: only the last statement's may remain.
      const [kept] = await sql<{ n: number }[]>`select count(*)::int as n from tableos.op_result`;
      expect(kept!.n).toBeLessThanOrEqual(1);
    });
  }
});

describe('backends terminated again and again under load', () => {
  it('every send, receive and call completes; each message arrives once', async () => {
    const os = await openTestOS({ poolSize: 6 });
    const m = os.messaging;
    const server = await m.serve('doubler', (n: number) => n * 2);
    const killer = postgres(await databaseUrlOf(os), { max: 1, onnotice: () => undefined });
    pools.push(killer);
    let rounds = 0;
    let stop = false;
    const killing = (async () => {
      while (!stop) {
        await killer`select pg_terminate_backend(pid) from pg_stat_activity
                      where datname = current_database() and pid <> pg_backend_pid()`;
        rounds++;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();

    const N = 200;
    const received: number[] = [];
    const receiving = (async () => {
      while (received.length < N) {
        const batch = await m.recvBatch<number>('work', 10, { timeoutMs: 10_000 });
        if (batch.length === 0) break;
        received.push(...batch.map((x) => x.body));
      }
    })();
    const sends: Promise<unknown>[] = [];
    const calls: Promise<number>[] = [];
    for (let i = 0; i < N; i++) {
      sends.push(m.send('work', i));
      if (i % 10 === 0) calls.push(m.call<number>('doubler', i, { timeoutMs: 30_000 }));
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 100));
    }
    const sent = await Promise.allSettled(sends);
    const answered = await Promise.allSettled(calls);
    await receiving;
    stop = true;
    await killing;
    await server.stop();

    expect(rounds).toBeGreaterThan(3);
    expect(sent.filter((s) => s.status === 'rejected')).toEqual([]);
    expect(answered.filter((s) => s.status === 'rejected')).toEqual([]);
    expect(answered.map((a) => (a as PromiseFulfilledResult<number>).value)).toEqual(
      Array.from({ length: N / 10 }, (_, k) => k * 20),
    );
    expect([...received].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    const [left] = await os.sql<{ n: number }[]>`
      select count(*)::int as n from tableos.message where receiver = 'work'`;
    expect(left!.n).toBe(0);
  });
});
