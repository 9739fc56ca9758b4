// Queued workflows: one dispatcher for workflows and tasks, with the queue's limits applied.
import { describe, expect, it } from 'vitest';
import { UnknownQueueError } from '../../src/scheduler/index.js';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('queued workflows', () => {
  it('runs enqueued workflows through the scheduler at the queue concurrency, never above', async () => {
    const os = await openTestOS();
    let running = 0;
    let most = 0;
    let mostInDb = 0;
    let gaveUp = false;
    const sample = async () => {
      const [r] = await os.sql<{ n: number }[]>`
        select count(*)::int as n from tableos.task
         where kind = 'tableos.workflow' and state in ('assigned', 'running')`;
      mostInDb = Math.max(mostInDb, r!.n);
    };
    // Each step holds its run's slot until two have been seen at once (or, if that never
    // happens, until the first gives up), so a limiter that lets fewer through is seen below
    // the limit and one that lets more through above it.
    const work = os.workflows.step('work', async (n: number) => {
      running++;
      most = Math.max(most, running);
      try {
        await sample();
        await waitFor(() => gaveUp || most >= 2, { timeoutMs: 5000 }).catch(() => (gaveUp = true));
        await sample();
      } finally {
        running--;
      }
      return n * 2;
    });
    const double = os.workflows.workflow('double', async (ctx, n: number) => ctx.call(work, n));
    await os.scheduler.queue('wf', { concurrency: 2 });
    await os.scheduler.start({ capacity: 8, pollMs: 1000 });
    const handles = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        os.scheduler.enqueueWorkflow<number>('wf', double, [i], { id: `d-${i}` }),
      ),
    );
    const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    expect(most).toBe(2);
    expect(mostInDb).toBe(2);
    // The task completes just after the run it carried.
    const tasks = async () =>
      os.sql<{ state: string; n: number }[]>`
        select state, count(*)::int as n from tableos.task where kind = 'tableos.workflow' group by state`;
    await waitFor(async () => (await tasks()).length === 1, { what: 'the tasks to finish' });
    expect(await tasks()).toEqual([{ state: 'done', n: 10 }]);
    const runs = await os.sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from tableos.workflow group by status`;
    expect(runs).toEqual([{ status: 'success', n: 10 }]);
  });

  it('enqueues one run per id, and writes nothing for an unknown queue', async () => {
    const os = await openTestOS();
    const wf = os.workflows.workflow('noop', () => Promise.resolve('ok'));
    await os.scheduler.queue('q');
    const a = await os.scheduler.enqueueWorkflow('q', wf, [], { id: 'same' });
    const b = await os.scheduler.enqueueWorkflow('q', wf, [], { id: 'same' });
    expect(a.workflowId).toBe(b.workflowId);
    const [t] = await os.sql<{ n: number }[]>`select count(*)::int as n from tableos.task`;
    expect(t!.n).toBe(1);
    const err = await os.scheduler
      .enqueueWorkflow('nope', wf, [], { id: 'lost' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownQueueError);
    const [w] = await os.sql<
      { n: number }[]
    >`select count(*)::int as n from tableos.workflow where id = 'lost'`;
    expect(w!.n).toBe(0);
    // Started later, the executor runs what was queued before it came up.
    await os.scheduler.start({ pollMs: 1000 });
    expect(await a.result({ timeoutMs: 30_000 })).toBe('ok');
  });
});
