// Cron schedules: expressions (with seconds, in a time zone) are parsed here; firing is a
// compare-and-set on next_at in SQL, so each tick becomes one task across all executors.
import { Cron } from 'croner';
import type { Sql } from '../kernel/database.js';
import { errorMessage } from '../kernel/errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import { Backoff, retried } from './claims.js';
import { SchedulerInvalidError } from './errors.js';
import * as proc from './procedures.js';
import { toCron, type CronRow } from './rows.js';
import type { CronInfo } from './types.js';

/** Most missed ticks fired at once by a backfilling schedule. */
export const MAX_BACKFILL = 1000;

export function parseCron(expr: string, tz: string): Cron {
  if (typeof expr !== 'string' || expr.trim() === '' || expr.length > 200) {
    throw new SchedulerInvalidError(`invalid cron expression ${JSON.stringify(expr)}`);
  }
  if (typeof tz !== 'string' || !validZone(tz)) {
    throw new SchedulerInvalidError(
      `unknown time zone ${JSON.stringify(tz)}: use an IANA name such as UTC or Europe/Paris`,
    );
  }
  try {
    return new Cron(expr.trim(), { timezone: tz, paused: true });
  } catch (err) {
    throw new SchedulerInvalidError(
      `invalid cron expression ${JSON.stringify(expr)}: ${errorMessage(err)} (fields: [seconds] minutes hours day-of-month month day-of-week)`,
      { cause: err },
    );
  }
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function nextAfter(expr: string, tz: string, from: Date): Date {
  const next = parseCron(expr, tz).nextRun(from);
  if (next === null)
    throw new SchedulerInvalidError(`cron expression ${JSON.stringify(expr)} never fires`);
  return next;
}

/** The ticks of a due schedule to fire now, and its next tick after them. */
export function dueTicks(row: CronInfo, now: Date): { ticks: Date[]; next: Date } {
  const job = parseCron(row.expr, row.tz);
  const ticks: Date[] = [];
  let t: Date | null = row.nextAt;
  while (t !== null && t.getTime() <= now.getTime() && ticks.length < MAX_BACKFILL) {
    ticks.push(t);
    t = job.nextRun(t);
  }
  // Without backfill only the latest due tick fires; missed ones are skipped.
  const fire = row.backfill ? ticks : ticks.slice(-1);
  const next = job.nextRun(
    t !== null && t.getTime() > now.getTime() ? new Date(t.getTime() - 1) : now,
  );
  return { ticks: fire, next: next ?? new Date('9999-12-31T00:00:00Z') };
}

/**
 * Fires due schedules; sleeps until the earliest next tick (woken early by tableos_cron).
 * A tick that fails (the database stayed away past the reconnect deadline) is tried again
 * after a pause; a re-LISTEN looks again, since changes may have gone unnoticed meanwhile.
 */
export class CronRunner {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private kickedWhileRunning = false;
  private readonly backoff = new Backoff(1_000, 30_000);

  constructor(
    private readonly os: Kernel,
    private readonly log: Logger,
    private readonly maxSleepMs: number,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.os.notifier.subscribe('tableos_cron', {
      onPayload: () => this.kick(),
      onRelisten: () => this.kick(),
    });
    this.kick();
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.kickedWhileRunning = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.tick()
      .then((wait) => {
        this.backoff.reset();
        return wait;
      })
      .catch((err: unknown) => {
        const pause = this.backoff.next();
        this.log.warn({ err: errorMessage(err), retryMs: pause }, 'cron tick failed');
        return pause;
      })
      .then((wait) => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.kickedWhileRunning) {
          this.kickedWhileRunning = false;
          return this.kick();
        }
        this.timer = setTimeout(() => this.kick(), wait);
        this.timer.unref();
      });
  }

  /** Fires what is due; returns how long to sleep until the next tick. */
  private async tick(): Promise<number> {
    const sql = () => this.os.sql;
    const due = (
      await retried(
        this.os,
        'tableos.cron due',
        () => sql()<CronRow[]>`
          select * from tableos.cron where not paused and next_at <= clock_timestamp() order by next_at`,
      )
    ).map(toCron);
    for (const row of due) {
      const { ticks, next } = dueTicks(row, new Date());
      // A compare-and-set on next_at: run again after a lost answer, it fires nothing twice.
      const n = await retried(
        this.os,
        'tableos.sched_cron_fire',
        () => sql()<{ n: number }[]>`
          select tableos.sched_cron_fire(${row.name}, ${row.nextAt}, ${ticks.map((t) => t.toISOString())}::timestamptz[], ${next}) as n`,
        'scheduler:cron-fire-committed',
      );
      if ((n[0]?.n ?? 0) > 0) this.log.debug({ cron: row.name, ticks: ticks.length }, 'cron fired');
    }
    const [soon] = await retried(
      this.os,
      'tableos.cron next',
      () => sql()<{ at: Date | null }[]>`
        select min(next_at) as at from tableos.cron where not paused`,
    );
    const wait = soon?.at ? Math.max(0, soon.at.getTime() - Date.now()) : this.maxSleepMs;
    return Math.min(wait, this.maxSleepMs) + 2;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.unsubscribe?.();
  }
}

export async function addCron(
  sql: Sql,
  name: string,
  expr: string,
  opts: { queue: string; kind: string; payload?: unknown; tz?: string; backfill?: boolean },
): Promise<CronInfo> {
  const tz = opts.tz ?? 'UTC';
  const next = nextAfter(expr, tz, new Date());
  const row = await proc.one<CronRow>(
    sql,
    'tableos.sched_cron_upsert',
    [
      name,
      expr.trim(),
      tz,
      opts.queue,
      opts.kind,
      opts.payload === undefined ? null : JSON.stringify(opts.payload),
      opts.backfill ?? false,
      next,
    ],
    ['', '', '', '', '', '::text::jsonb'],
  );
  return toCron(row);
}

export async function pauseCron(sql: Sql, name: string, paused: boolean): Promise<CronInfo> {
  const row = await proc.getCron(sql, name);
  const next = nextAfter(row.expr, row.tz, new Date());
  return toCron(await proc.one<CronRow>(sql, 'tableos.sched_cron_pause', [name, paused, next]));
}
