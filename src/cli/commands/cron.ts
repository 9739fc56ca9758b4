// tableos cron list|add|pause|resume|rm: schedules that enqueue a task per tick.
import type { Command } from 'commander';
import { withOS } from '../context.js';
import { formatTime, printRows } from '../format.js';
import type { CronInfo } from '../../scheduler/types.js';
import { jsonArg } from './sched-args.js';

const view = (rows: CronInfo[]) =>
  rows.map((c) => ({
    name: c.name,
    expr: c.expr,
    tz: c.tz,
    queue: c.queue,
    kind: c.kind,
    paused: c.paused ? 'yes' : 'no',
    backfill: c.backfill ? 'yes' : 'no',
    next: c.paused ? '' : formatTime(c.nextAt),
    last: formatTime(c.lastTick),
  }));

export function register(program: Command): void {
  const cron = program.command('cron').description('cron schedules: list, add, pause, resume, rm');

  cron
    .command('list')
    .description('list schedules')
    .option('--json', 'print rows as JSON lines')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = await os.scheduler.cron.list();
        printRows(opts.json ? rows : view(rows), { json: opts.json });
      });
    });

  cron
    .command('add')
    .description('add or replace a schedule: EXPR has 5 fields, or 6 with seconds first')
    .argument('<name>')
    .argument('<expr>', "cron expression, e.g. '*/10 * * * * *' (every 10 s)")
    .requiredOption('--queue <queue>', 'queue the tasks go to')
    .requiredOption('--kind <kind>', 'task kind (the handler that runs it)')
    .option('--payload <json>', 'task payload as JSON (the tick time is added as "tick")')
    .option('--tz <zone>', 'IANA time zone', 'UTC')
    .option('--backfill', 'after downtime, fire every missed tick (default: only the latest)')
    .action(
      async (
        name: string,
        expr: string,
        o: { queue: string; kind: string; payload?: string; tz: string; backfill?: boolean },
        cmd: Command,
      ) => {
        const payload = jsonArg('--payload', o.payload);
        await withOS(cmd, async (os) => {
          const row = await os.scheduler.cron.add(name, expr, {
            queue: o.queue,
            kind: o.kind,
            tz: o.tz,
            backfill: o.backfill === true,
            ...(payload !== undefined ? { payload } : {}),
          });
          printRows(view([row]));
        });
      },
    );

  for (const [verb, what] of [
    ['pause', 'stop firing a schedule'],
    ['resume', 'fire a paused schedule again'],
    ['rm', 'remove a schedule'],
  ] as const) {
    cron
      .command(verb)
      .description(what)
      .argument('<name>')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        await withOS(cmd, async (os) => {
          const c = os.scheduler.cron;
          const row =
            verb === 'pause'
              ? await c.pause(name)
              : verb === 'resume'
                ? await c.resume(name)
                : await c.remove(name);
          process.stdout.write(
            `${row.name} ${verb === 'rm' ? 'removed' : verb === 'pause' ? 'paused' : 'resumed'}\n`,
          );
        });
      });
  }
}
