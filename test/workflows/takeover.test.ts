// Two executors: one is killed mid-run, the other (already running, not restarted) takes
// its workflows over once its lease runs out.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TableOSClient } from '../../src/client.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { startFixture } from '../support/spawn.js';
import { waitFor } from '../support/wait.js';
import { register, setupTables } from './fixtures/app.js';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

describe('takeover between live executors', () => {
  it('a live executor resumes the runs of one that was SIGKILLed, without restart', async () => {
    const url = await createTestDatabase();
    const b = await openTestOS({ databaseUrl: url, heartbeatMs: 100, leaseMs: 500 });
    await setupTables(b);
    register(b);

    const { child: a, exited } = startFixture(WORKER, {
      env: { DATABASE_URL: url, START: '8', PAUSE_MS: '1500', TABLEOS_LOG_LEVEL: 'silent' },
    });
    await new Promise<void>((resolve, reject) => {
      a.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('started')) resolve();
      });
      exited.catch(reject);
      setTimeout(() => reject(new Error('executor A did not start')), 20_000);
    });
    // Let A get into the runs (procedure and first step recorded, sleeping), then kill it.
    await waitFor(
      async () => {
        const [r] = await b.sql<{ n: number }[]>`
          select count(*)::int n from tableos.workflow_call
           where workflow_id like 'w-%' and seq = 1 and error is null`;
        return r!.n === 8;
      },
      { what: "A's runs to record their first step" },
    );
    const [{ aId } = { aId: '' }] = await b.sql<{ aId: string }[]>`
      select id as "aId" from tableos.executor where id <> ${b.executor!.id} and status = 'alive'`;
    const before = await b.sql<{ executor_id: string; status: string }[]>`
      select executor_id, status from tableos.workflow`;
    expect(before).toHaveLength(8);
    expect(before.every((r) => r.executor_id === aId && r.status === 'pending')).toBe(true);
    a.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');

    const client = await TableOSClient.open({ databaseUrl: url });
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => client.handle(`w-${i}`).result({ timeoutMs: 15_000 })),
      );
      expect(results).toEqual(Array.from({ length: 8 }, () => '3n1n2'));
    } finally {
      await client.close();
    }
    const after = await b.sql<{ executor_id: string; recovery_attempts: number }[]>`
      select executor_id, recovery_attempts from tableos.workflow`;
    expect(after.every((r) => r.executor_id === b.executor!.id && r.recovery_attempts === 1)).toBe(
      true,
    );
    const [dead] = await b.sql<
      { status: string }[]
    >`select status from tableos.executor where id = ${aId}`;
    expect(dead!.status).toBe('dead');
    const [p] = await b.sql<{ n: number }[]>`select count(*)::int as n from proc_effect`;
    expect(p!.n).toBe(8);
  });

  it('runs of an executor that shut down are taken over at once by another', async () => {
    const url = await createTestDatabase();
    const define = (os: Awaited<ReturnType<typeof openTestOS>>) =>
      os.workflows.workflow('napper', async (ctx, ms: number) => {
        await ctx.sleep(ms);
        return `slept ${ms}`;
      });
    const a = await openTestOS({ databaseUrl: url, leaseMs: 30_000 });
    const b = await openTestOS({ databaseUrl: url, leaseMs: 30_000 });
    define(b);
    await define(a).start([300], { id: 'nap-1' });
    await a.close();
    // No lease has to run out: a stopped executor is announced and its runs claimed.
    expect(await b.workflows.handle('nap-1').result({ timeoutMs: 5000 })).toBe('slept 300');
    const info = await b.workflows.get('nap-1');
    expect(info.executorId).toBe(b.executor!.id);
    expect(info.recoveryAttempts).toBe(1);
  });
});
