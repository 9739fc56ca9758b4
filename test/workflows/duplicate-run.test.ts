// Two executors end up running the same workflow (one took it over while the other was
// still going): the first recorded result wins and the other run yields to it.
import { describe, expect, it } from 'vitest';
import type { Workflows } from '../../src/workflows/service.js';
import { createTestDatabase, openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

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
    // A polls for takeover rarely: only the change below moves the run.
    const aWf = a.workflows;
    let inStep: () => void = () => undefined;
    const aInStep = new Promise<void>((r) => (inStep = r));
    const onA = registerOn(aWf, 'A', gate, () => inStep());
    registerOn(b.workflows, 'B', gate);

    const h = await onA.start([], { id: 'dup-1' });
    // Once A is inside its step it has written all it writes before the step's checkpoint.
    await aInStep;
    // As if A had lost its lease and B had taken the run over while A is still going: the
    // run belongs to B, a live executor, so A has no reason to claim it back, and B's
    // executeById runs it from its (empty) history.
    await a.sql`update tableos.workflow set executor_id = ${b.executor!.id} where id = 'dup-1'`;
    const onB = b.workflows.executeById('dup-1');
    await waitFor(async () => (await aWf.steps('dup-1')).length > 0, {
      what: "B's step result recorded",
    });
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
