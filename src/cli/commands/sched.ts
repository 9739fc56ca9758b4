// tableos sched workers|tasks|policy: the scheduler's workers, tasks and placement policies.
import type { Command } from 'commander';
import { withOS } from '../context.js';
import { formatTime, printRows } from '../format.js';
import type { TaskState } from '../../scheduler/types.js';

export function register(program: Command): void {
  const sched = program
    .command('sched')
    .description('scheduler: workers, tasks, placement policies');

  sched
    .command('workers')
    .description('list worker slots: live ones, or all with -a')
    .option('-a, --all', 'include stopped and dead workers')
    .option('--json', 'print rows as JSON lines')
    .action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = await os.scheduler.workers({ all: opts.all === true });
        if (opts.json) return printRows(rows, { json: true });
        printRows(
          rows.map((w) => ({
            id: w.id,
            partition: w.partition,
            status: w.status,
            running: w.running,
            capacity: w.capacity,
            mem_free_mb: w.memFreeMb,
            mem_total_mb: w.memTotalMb,
            shards: w.shards.join(','),
            kinds: w.kinds === null ? '*' : w.kinds.join(','),
          })),
          {
            columns: [
              'id',
              'partition',
              'status',
              'running',
              'capacity',
              'mem_free_mb',
              'mem_total_mb',
              'shards',
              'kinds',
            ],
          },
        );
      });
    });

  sched
    .command('tasks')
    .description('list recent tasks, newest first, or show one task by id')
    .argument('[id]', 'a task id')
    .option('-q, --queue <queue>', 'only this queue')
    .option(
      '-s, --state <state>',
      'only this state (queued|assigned|running|done|failed|cancelled)',
    )
    .option('-n, --limit <n>', 'most rows', '50')
    .option('--json', 'print rows as JSON lines')
    .action(
      async (
        id: string | undefined,
        opts: { queue?: string; state?: string; limit: string; json?: boolean },
        cmd: Command,
      ) => {
        await withOS(cmd, async (os) => {
          const s = os.scheduler;
          if (id !== undefined) {
            const t = await s.task(id);
            return printRows(
              opts.json
                ? [t]
                : Object.entries(t).map(([field, value]: [string, unknown]) => ({ field, value })),
              { json: opts.json, columns: opts.json ? undefined : ['field', 'value'] },
            );
          }
          const rows = await s.tasks({
            ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
            ...(opts.state !== undefined ? { state: opts.state as TaskState } : {}),
            limit: Number(opts.limit),
          });
          if (opts.json) return printRows(rows, { json: true });
          printRows(
            rows.map((t) => ({
              id: t.id,
              queue: t.queue,
              kind: t.kind,
              state: t.state,
              priority: t.priority,
              worker: t.workerId,
              attempts: t.attempts,
              created: formatTime(t.createdAt),
              finished: formatTime(t.finishedAt),
              error: t.error,
            })),
            {
              columns: [
                'id',
                'queue',
                'kind',
                'state',
                'priority',
                'worker',
                'attempts',
                'created',
                'finished',
                'error',
              ],
            },
          );
        });
      },
    );

  sched
    .command('policy')
    .description("list policies; show a queue's policy; or swap it: sched policy QUEUE NAME")
    .argument('[queue]', 'queue name')
    .argument('[name]', 'policy to use from now on')
    .option('--json', 'print rows as JSON lines')
    .action(
      async (
        queue: string | undefined,
        name: string | undefined,
        opts: { json?: boolean },
        cmd: Command,
      ) => {
        await withOS(cmd, async (os) => {
          const s = os.scheduler;
          if (queue === undefined)
            return printRows(await s.policies(), {
              json: opts.json,
              columns: ['name', 'fn', 'description'],
            });
          const q = name === undefined ? await s.getQueue(queue) : await s.setPolicy(queue, name);
          printRows([{ queue: q.name, policy: q.policy }], { json: opts.json });
        });
      },
    );
}
