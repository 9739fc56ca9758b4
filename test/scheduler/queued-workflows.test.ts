// Queued workflows: one dispatcher for workflows and tasks, with the queue's limits applied.
import { describe, expect, it } from 'vitest';
import { UnknownQueueError } from '../../src/scheduler/index.js';
import { openTestOS } from '../support/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('queued workflows', () => {
  it('runs enqueued workflows through the scheduler within the queue concurrency', async () => {
    const os = await openTestOS();
    let running = 0;
    let most = 0;
    const work = os.workflows.step('work', async (n: number) => {
      running++;
      most = Math.max(most, running);
      await sleep(30);
      running--;
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
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    // The task completes just after the run it carried.
    let tasks: { state: string; n: number }[] = [];
    for (let i = 0; i < 100; i++) {
      tasks = await os.sql<{ state: string; n: number }[]>`
        select state, count(*)::int as n from tableos.task where kind = 'tableos.workflow' group by state`;
      if (tasks.length === 1) break;
      await sleep(50);
    }
    expect(tasks).toEqual([{ state: 'done', n: 10 }]);
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
