// Chaos over the public API: three bank workers run transfer workflows while workers are
// SIGKILLed and every database backend is terminated at random intervals, as a crash, a
// Postgres restart or a failover would do. Then every run must finish, each procedure's
// effect must be there exactly once, money must be conserved, and each audit message must be
// recorded exactly once. Step effects may repeat in the crash window: counted, not failed.
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { startFixture } from '../support/spawn.js';
import { runChaos } from './harness.js';

const SECONDS = 22;

describe('chaos', () => {
  it('transfers survive worker kills and terminated backends', async () => {
    const r = await runChaos({
      databaseUrl: await createTestDatabase(),
      seconds: SECONDS,
      drainMs: 20_000,
      spawn: startFixture,
    });
    console.log(JSON.stringify(r));
    const w = r.workflows;
    expect.soft(w.started, 'workflows started').toBe(w.planned);
    expect.soft(w.errors, 'errors of unsuccessful workflows').toEqual({});
    expect.soft(w.errored, 'errored workflows').toBe(0);
    expect.soft(w.pending, 'workflows still pending').toBe(0);
    expect.soft(w.succeeded, 'succeeded workflows').toBe(w.planned);
    expect.soft(r.procedureEffects.lost, 'procedure effects lost').toBe(0);
    expect.soft(r.procedureEffects.duplicated, 'procedure effects duplicated').toBe(0);
    expect
      .soft(r.balances.conserved, `balances conserved ${JSON.stringify(r.balances)}`)
      .toBe(true);
    expect.soft(r.audit.missing, 'audit messages missing').toBe(0);
    expect.soft(r.audit.duplicated, 'audit messages duplicated').toBe(0);
    expect.soft(r.stepEffects.missing, 'successful runs without their step effect').toBe(0);
    expect.soft(r.crashes, 'worker crashes').toEqual([]);
    expect.soft(r.chaos.backendKillRounds, 'backend-kill rounds').toBeGreaterThanOrEqual(3);
    expect.soft(r.chaos.workerKills, 'worker kills').toBeGreaterThanOrEqual(3);
  }, 100_000);
});
