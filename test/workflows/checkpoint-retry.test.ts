// A checkpoint write that fails is kept and written again with the next one, so a run never
// finishes with a gap in its history.
import { describe, expect, it } from 'vitest';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('a failed checkpoint write', () => {
  it('is retried with the finish instead of being lost', async () => {
    const os = await openTestOS();
    // Fails the first write of this run's calls, once (a sequence is not rolled back).
    await os.sql`create sequence flaky_seq`;
    await os.sql`create function fail_once() returns trigger language plpgsql as $$
      begin
        if nextval('flaky_seq') = 1 then raise exception 'injected checkpoint failure'; end if;
        return new;
      end $$`;
    await os.sql`create trigger fail_once before insert on tableos.workflow_call
      for each row when (new.workflow_id = 'flaky-1') execute function fail_once()`;
    let effects = 0;
    const stepA = os.workflows.step('a', () => Promise.resolve(++effects));
    const wf = os.workflows.workflow('flaky', async (ctx) => {
      const a = await ctx.call(stepA);
      // Returns only once the background checkpoint write has gone out (and failed).
      await waitFor(
        async () =>
          (await os.sql<{ called: boolean }[]>`select is_called called from flaky_seq`)[0]!.called,
        { what: 'the first checkpoint write' },
      );
      return a;
    });
    const h = await wf.start([], { id: 'flaky-1' });
    expect(await h.result({ timeoutMs: 20_000 })).toBe(1);
    const [attempts] = await os.sql<{ n: string }[]>`select last_value::text as n from flaky_seq`;
    expect(Number(attempts!.n)).toBeGreaterThanOrEqual(2); // it did fail once, then went in
    const steps = await os.workflows.steps('flaky-1');
    expect(steps.map((s) => [s.name, s.output])).toEqual([['a', 1]]);
    expect(effects).toBe(1);
  });
});
