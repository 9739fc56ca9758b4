// Kills real executor processes with SIGKILL at each named fault point, then lets another
// process take over, and checks that every run completes with each effect exactly once.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { TableOSClient } from '../../src/client.js';
import { WorkflowRecoveryLimitError } from '../../src/workflows/errors.js';
import { createTestDatabase } from '../support/db.js';
import { runFixture, type FixtureExit } from '../support/spawn.js';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const pools: postgres.Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

function runWorker(url: string, env: Record<string, string>): Promise<FixtureExit> {
  return runFixture(WORKER, {
    env: { DATABASE_URL: url, TABLEOS_LOG_LEVEL: 'silent', ...env },
    timeoutMs: 30_000,
  });
}

const POINTS = [
  'start-committed',
  'procedure-committed',
  'step-effect-done',
  'step-checkpointed',
  'finish-before-commit',
  'finish-committed',
] as const;

const RUNS = 4;

describe('crash safety: SIGKILL at each fault point, then takeover', () => {
  for (const point of POINTS) {
    it(`killed at ${point}: every run completes, effects exactly once`, async () => {
      const url = await createTestDatabase();
      const sql = postgres(url, { max: 2, onnotice: () => undefined });
      pools.push(sql);
      const crashed = await runWorker(url, {
        START: String(RUNS),
        TABLEOS_FAULT: `workflows:${point}`,
      });
      expect(crashed.signal).toBe('SIGKILL');
      const after = await runWorker(url, { START: String(RUNS) });
      expect(after.stderr).toBe('');
      expect(after.code).toBe(0);
      const runs = await sql<{ id: string; status: string; output: string }[]>`
        select id, status, output from tableos.workflow order by id`;
      expect(runs.map((r) => [r.id, r.status, r.output])).toEqual(
        Array.from({ length: RUNS }, (_, i) => [`w-${i}`, 'success', '"3n1n2"']),
      );
      // The procedure's write committed with its checkpoint: exactly once per run.
      const proc = await sql<{ wf: string; n: number }[]>`
        select wf, count(*)::int as n from proc_effect group by wf order by wf`;
      expect(proc).toEqual(runs.map((r) => ({ wf: r.id, n: 1 })));
      // No step ran again once its checkpoint was recorded.
      const [late] = await sql<{ n: number }[]>`
        select count(*)::int as n from step_effect e
          join tableos.workflow_call c on c.workflow_id = e.wf and c.name = case e.step when 'n1' then 'notify' else 'notify2' end
         where e.at > c.ended_at`;
      expect(late!.n).toBe(0);
      const steps = await sql<{ wf: string; step: string; n: number }[]>`
        select wf, step, count(*)::int as n from step_effect group by wf, step`;
      expect(steps).toHaveLength(RUNS * 2);
      // A step runs again only if the kill fell between its effect and its checkpoint (the
      // check above), so at most once more, and only for runs that were in flight.
      expect(steps.every((s) => s.n <= 2)).toBe(true);
      if (point === 'start-committed') {
        expect(steps.every((s) => s.n === 1)).toBe(true);
      }
    });
  }

  for (const point of ['start-committed', 'step-effect-done'] as const) {
    it(`generated ids (start combined with the first checkpoint), killed at ${point}`, async () => {
      const url = await createTestDatabase();
      const sql = postgres(url, { max: 2, onnotice: () => undefined });
      pools.push(sql);
      const crashed = await runWorker(url, {
        GENERATED: String(RUNS),
        TABLEOS_FAULT: `workflows:${point}`,
      });
      expect(crashed.signal).toBe('SIGKILL');
      const after = await runWorker(url, {});
      expect(after.code).toBe(0);
      const runs = await sql<{ id: string; status: string; output: string }[]>`
        select id, status, output from tableos.workflow order by id`;
      // A run whose start never committed never existed (its start() had not returned); the
      // others all finish. Killed after a start committed, at least that run exists.
      expect(runs.length).toBeLessThanOrEqual(RUNS);
      if (point === 'start-committed') expect(runs.length).toBeGreaterThan(0);
      expect(runs.every((r) => r.status === 'success' && r.output === '"36n1n2"')).toBe(true);
      const proc = await sql<{ wf: string; n: number }[]>`
        select wf, count(*)::int as n from proc_effect group by wf order by wf`;
      // A procedure makes the start durable first: its write never outlives a lost start.
      expect(proc).toEqual(runs.map((r) => ({ wf: r.id, n: 1 })));
      const [late] = await sql<{ n: number }[]>`
        select count(*)::int as n from step_effect e
          join tableos.workflow_call c on c.workflow_id = e.wf and c.name = case e.step when 'n1' then 'notify' else 'notify2' end
         where e.at > c.ended_at`;
      expect(late!.n).toBe(0);
    });
  }

  it('a run that keeps killing its executor ends as max_recovery_exceeded', async () => {
    const url = await createTestDatabase();
    const sql = postgres(url, { max: 2, onnotice: () => undefined });
    pools.push(sql);
    expect((await runWorker(url, { DOOMED: '1' })).signal).toBe('SIGKILL');
    expect((await runWorker(url, {})).signal).toBe('SIGKILL');
    const last = await runWorker(url, {});
    expect(last.code).toBe(0);
    const [row] = await sql<{ status: string; error: string; recovery_attempts: number }[]>`
      select status, error, recovery_attempts from tableos.workflow where id = 'doomed-1'`;
    expect(row!.status).toBe('max_recovery_exceeded');
    expect(row!.recovery_attempts).toBe(2);
    expect(JSON.parse(row!.error)).toMatchObject({ code: 'TABLEOS_WORKFLOW_RECOVERY_LIMIT' });
    // The result rejects with the class, as read by any client.
    const client = await TableOSClient.open({ databaseUrl: url });
    try {
      const err = await client
        .handle('doomed-1')
        .result()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowRecoveryLimitError);
      expect((err as WorkflowRecoveryLimitError).message).toMatch(/recovered 1 times, its cap/);
    } finally {
      await client.close();
    }
  });
});
