// tableos queue list|show|create|pause|resume: queues and their flow-control limits.
import type { Command } from 'commander';
import { withOS } from '../context.js';
import { printRows } from '../format.js';
import { SchedulerInvalidError } from '../../scheduler/errors.js';
import type { QueueInfo } from '../../scheduler/types.js';
import { intArg } from './sched-args.js';

const COLUMNS = [
  'name',
  'policy',
  'partition',
  'paused',
  'running',
  'queued',
  'concurrency',
  'per_executor',
  'per_key',
  'rate',
];

function view(rows: QueueInfo[], queued: Map<string, number>) {
  return rows.map((q) => ({
    name: q.name,
    policy: q.policy,
    partition: q.partition,
    paused: q.paused ? 'yes' : 'no',
    running: q.running,
    queued: queued.get(q.name) ?? 0,
    concurrency: q.concurrency,
    per_executor: q.perExecutor,
    per_key: q.perKey,
    rate: q.rateLimit === null ? '' : `${q.rateLimit.count}/${q.rateLimit.periodMs}ms`,
  }));
}

export function register(program: Command): void {
  const queue = program.command('queue').description('queues: list, show, create, pause, resume');

  queue
    .command('list')
    .description('list queues with their limits and depth')
    .option('--json', 'print rows as JSON lines')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = await os.scheduler.queues();
        if (opts.json) return printRows(rows, { json: true });
        const depth = await os.sql<{ queue: string; n: number }[]>`
          select queue, count(*)::int n from tableos.task where state = 'queued' group by 1`;
        printRows(view(rows, new Map(depth.map((d) => [d.queue, d.n]))), { columns: COLUMNS });
      });
    });

  queue
    .command('show')
    .description('show one queue and its tasks by state')
    .argument('<name>')
    .option('--json', 'print rows as JSON lines')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const q = await os.scheduler.getQueue(name);
        const states = await os.sql<{ state: string; n: number }[]>`
          select state, count(*)::int n from tableos.task where queue = ${name} group by 1 order by 1`;
        if (opts.json)
          return printRows(
            [{ ...q, tasks: Object.fromEntries(states.map((s) => [s.state, s.n])) }],
            { json: true },
          );
        const [v] = view(
          [q],
          new Map(states.filter((s) => s.state === 'queued').map((s) => [name, s.n])),
        );
        printRows(
          Object.entries(v!).map(([field, value]) => ({ field, value })),
          { columns: ['field', 'value'] },
        );
        printRows(states, { columns: ['state', 'n'] });
      });
    });

  queue
    .command('create')
    .description('create a queue, or change its settings (limits not given are removed)')
    .argument('<name>')
    .option('--policy <name>', 'placement policy (fifo, least_loaded, locality, or one you added)')
    .option('--partition <n>', 'scheduler partition')
    .option('--concurrency <n>', 'most tasks running at once, over all executors')
    .option('--per-executor <n>', 'most tasks running on any one executor')
    .option('--per-key <n>', 'most tasks running per partition key (tenant)')
    .option('--rate <n/ms>', 'at most n starts per window of ms milliseconds, e.g. 100/1000')
    .option('--json', 'print rows as JSON lines')
    .action(
      async (
        name: string,
        o: {
          policy?: string;
          partition?: string;
          concurrency?: string;
          perExecutor?: string;
          perKey?: string;
          rate?: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        let rateLimit: { count: number; periodMs: number } | null = null;
        if (o.rate !== undefined) {
          const m = /^(\d+)\/(\d+)(ms)?$/.exec(o.rate.trim());
          if (!m)
            throw new SchedulerInvalidError(
              `--rate must look like COUNT/MILLISECONDS, e.g. 100/1000; got ${JSON.stringify(o.rate)}`,
            );
          rateLimit = { count: Number(m[1]), periodMs: Number(m[2]) };
        }
        const opts = {
          ...(o.policy !== undefined ? { policy: o.policy } : {}),
          ...(o.partition !== undefined ? { partition: intArg('--partition', o.partition)! } : {}),
          concurrency: intArg('--concurrency', o.concurrency) ?? null,
          perExecutor: intArg('--per-executor', o.perExecutor) ?? null,
          perKey: intArg('--per-key', o.perKey) ?? null,
          rateLimit,
        };
        await withOS(cmd, async (os) => {
          const q = await os.scheduler.queue(name, opts);
          printRows(view([q], new Map()), { json: o.json, columns: COLUMNS });
        });
      },
    );

  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    queue
      .command(verb)
      .description(
        paused
          ? 'stop placing tasks of a queue (running ones finish)'
          : 'place tasks of a paused queue again',
      )
      .argument('<name>')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        await withOS(cmd, async (os) => {
          const s = os.scheduler;
          const q = paused ? await s.pause(name) : await s.resume(name);
          process.stdout.write(`${q.name} ${q.paused ? 'paused' : 'resumed'}\n`);
        });
      });
  }
}
