// Workflows survive the database going away: a statement whose connection was lost runs
// again on a fresh one, and a retry after a commit whose answer was lost finds that commit
// instead of doing the work twice or failing the run.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, openTestOS, databaseUrlOf } from '../support/db.js';
import { runFixture } from '../support/spawn.js';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const pools: postgres.Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

const RUNS = 4;

async function effects(sql: postgres.Sql) {
  const runs = await sql<{ id: string; status: string; output: string }[]>`
    select id, status, output from tableos.workflow order by id`;
  const proc = await sql<{ wf: string; n: number }[]>`
    select wf, count(*)::int as n from proc_effect group by wf order by wf`;
  const steps = await sql<{ wf: string; step: string; n: number }[]>`
    select wf, step, count(*)::int as n from step_effect group by wf, step order by wf, step`;
  return { runs, proc, steps };
}

describe('a committed statement whose answer was lost (~disconnect fault points)', () => {
  const cases = [
    { point: 'start-batch-committed', env: { START: String(RUNS) } },
    { point: 'procedure-committed', env: { START: String(RUNS) } },
    { point: 'procedure-committed@3', env: { START: String(RUNS) } },
    { point: 'commit-batch-committed', env: { START: String(RUNS) } },
    { point: 'commit-batch-committed@4', env: { START: String(RUNS) } },
    { point: 'commit-batch-committed', env: { GENERATED: String(RUNS) } },
  ];
  for (const c of cases) {
    const what = 'GENERATED' in c.env ? 'generated ids' : 'given ids';
    it(`lost at ${c.point} (${what}): every run succeeds, each effect once`, async () => {
      const url = await createTestDatabase();
      const sql = postgres(url, { max: 2, onnotice: () => undefined });
      pools.push(sql);
      const run = await runFixture(WORKER, {
        env: {
          DATABASE_URL: url,
          TABLEOS_LOG_LEVEL: 'silent',
          TABLEOS_FAULT: `workflows:${c.point}~disconnect`,
          ...c.env,
        },
        timeoutMs: 30_000,
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const { runs, proc, steps } = await effects(sql);
      expect(runs).toHaveLength(RUNS);
      const output = 'GENERATED' in c.env ? '"36n1n2"' : '"3n1n2"';
      expect(runs.every((r) => r.status === 'success' && r.output === output)).toBe(true);
      expect(proc).toEqual(runs.map((r) => ({ wf: r.id, n: 1 })));
      // No process died, so no step ran twice either.
      expect(steps).toHaveLength(RUNS * 2);
      expect(steps.every((s) => s.n === 1)).toBe(true);
    });
  }
});

describe('backends terminated again and again under load', () => {
  it('every run succeeds with its procedure effect once; no run fails for the connection', async () => {
    const os = await openTestOS({ poolSize: 6 });
    await os.sql`create table moved (wf text not null, amount int not null)`;
    const stepRuns = new Map<string, number>();
    const move = os.workflows.procedure('move', async (tx, wf: string, amount: number) => {
      await tx`insert into moved (wf, amount) values (${wf}, ${amount})`;
      return amount;
    });
    const effect = os.workflows.step('effect', (wf: string) => {
      stepRuns.set(wf, (stepRuns.get(wf) ?? 0) + 1);
      return Promise.resolve(wf.length);
    });
    const transfer = os.workflows.workflow('transfer', async (ctx, amount: number) => {
      const a = await ctx.call(move, ctx.workflowId, amount);
      const b = await ctx.call(effect, ctx.workflowId);
      await ctx.sleep(20);
      const c = await ctx.call(move, ctx.workflowId, -amount);
      return a + b + c;
    });

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

    const handles = [];
    for (let i = 0; i < 60; i++) {
      handles.push(await transfer.start([i], { id: `t-${i}` }));
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 100));
    }
    const results = await Promise.allSettled(handles.map((h) => h.result()));
    stop = true;
    await killing;

    expect(rounds).toBeGreaterThan(3);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(
      handles.map((h) => h.workflowId.length),
    );
    const rows = await os.sql<{ wf: string; n: number; sum: number }[]>`
      select wf, count(*)::int as n, sum(amount)::int as sum from moved group by wf order by wf`;
    expect(rows).toHaveLength(60);
    expect(rows.every((r) => r.n === 2 && r.sum === 0)).toBe(true);
    expect([...stepRuns.values()].every((n) => n === 1)).toBe(true);
    expect(stepRuns.size).toBe(60);
  });
});
