import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { startFixture } from '../support/spawn.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

describe('executor death', () => {
  it('re-queues the running tasks of a killed executor and runs them elsewhere', async () => {
    const url = await createTestDatabase();
    const os = await openTestOS({ databaseUrl: url, heartbeatMs: 100, leaseMs: 400 });
    const s = os.scheduler;
    await s.queue('crash');
    // This node has no handler yet, so its slots take no 'hang' tasks.
    await s.start({ capacity: 4, pollMs: 300 });

    const { child, exited } = startFixture(FIXTURE, { env: { DATABASE_URL: url } });
    const started = new Set<string>();
    let out = '';
    const seen = (pred: () => boolean) =>
      new Promise<void>((resolve, reject) => {
        const check = () => pred() && resolve();
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          for (const m of out.matchAll(/started (\d+)/g)) started.add(m[1]!);
          check();
        });
        void exited.then(
          (e) => reject(new Error(`worker exited early: ${out}${e.stderr}`)),
          reject,
        );
        check();
      });
    await seen(() => out.includes('ready'));
    const hs = await Promise.all([1, 2, 3].map((n) => s.enqueue('crash', 'hang', { n })));
    await seen(() => started.size === 3);
    const running = await os.sql<{ n: number }[]>`
      select count(*)::int n from tableos.task where queue = 'crash' and state = 'running' and executor_id <> ${os.executor!.id}`;
    expect(running[0]!.n).toBe(3);

    child.kill('SIGKILL');
    s.register('hang', (p: { n: number }) => p.n * 10);
    const results = await Promise.all(hs.map((h) => h.result()));
    expect(results).toEqual([10, 20, 30]);
    const rows = await os.sql<{ attempts: number; executor_id: string }[]>`
      select attempts, executor_id from tableos.task where queue = 'crash' order by id`;
    expect(rows.every((r) => r.attempts === 2 && r.executor_id === os.executor!.id)).toBe(true);
    const dead = await os.sql<{ status: string }[]>`
      select status from tableos.worker where executor_id <> ${os.executor!.id}`;
    expect(dead.map((d) => d.status)).toEqual(['dead']);
  });
});
