// Two executors end up running the same workflow (one took it over while the other was
// still going): the first recorded result wins and the other run yields to it.
import { describe, expect, it } from 'vitest';
import type { Workflows } from '../../src/workflows/service.js';
import { createTestDatabase, openTestOS } from '../support/db.js';

function registerOn(wf: Workflows, tag: string, gate: Promise<void>, entered = () => {}) {
  const slow = wf.step('tagged', async () => {
    entered();
    if (tag === 'A') await gate;
    return tag;
  });
  return wf.workflow('dup', async (ctx) => `result from ${await ctx.call(slow)}`);
}

describe('the same workflow run by two executors', () => {
  it('keeps the first recorded result; the late run does not finish it', async () => {
    const url = await createTestDatabase();
    // Long leases: on a loaded machine a short one can run out and move the run around.
    const a = await openTestOS({
      databaseUrl: url,
      leaseMs: 10_000,
      workflows: { pollMs: 600_000 },
    });
    const b = await openTestOS({ databaseUrl: url, leaseMs: 10_000 });
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    // A polls for takeover rarely, so only B claims the run below.
    const aWf = a.workflows;
    let inStep: () => void = () => undefined;
    const aInStep = new Promise<void>((r) => (inStep = r));
    const onA = registerOn(aWf, 'A', gate, () => inStep());
    registerOn(b.workflows, 'B', gate);

    const h = await onA.start([], { id: 'dup-1' });
    // Once A is inside its step it has written all it writes before the step's checkpoint.
    await aInStep;
    // As if A had lost its lease: the run now belongs to an executor that is not alive.
    // A may still be handling the notification of its own start, and would claim the run
    // back from a dead owner; repeat until the change sticks.
    for (let i = 0; i < 50; i++) {
      await a.sql`update tableos.workflow set executor_id = 'gone' where id = 'dup-1'`;
      await new Promise((r) => setTimeout(r, 100));
      const [row] = await a.sql<{ executor_id: string }[]>`
        select executor_id from tableos.workflow where id = 'dup-1'`;
      if (row?.executor_id === 'gone') break;
    }
    const onB = b.workflows.executeById('dup-1');
    for (let i = 0; i < 600 && (await aWf.steps('dup-1')).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await aWf.steps('dup-1')).map((s) => s.output)).toEqual(['B']);
    open();
    // A's step finishes late with another result: A yields to the recorded history, and
    // both executors report the one outcome.
    const outB = await onB;
    expect(outB).toEqual({ status: 'success', value: 'result from B' });
    expect(await h.result({ timeoutMs: 5000 })).toBe('result from B');
    const steps = await aWf.steps('dup-1');
    expect(steps.map((s) => s.output)).toEqual(['B']);
    expect((await aWf.get('dup-1')).output).toBe('result from B');
  });
});
