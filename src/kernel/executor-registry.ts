// This process as a row in tableos.executor: registered at start, its lease renewed by
// heartbeats, marked stopped at close. Each heartbeat also reaps executors whose lease ran out.
import { EventEmitter } from 'node:events';
import crypto from 'node:crypto';
import os from 'node:os';
import { callProcedure } from './call.js';
import type { Sql } from './database.js';
import { errorMessage } from './errors.js';
import { faultPoint } from './fault.js';
import type { Logger } from './logger.js';

export interface ExecutorRow {
  id: string;
  host: string;
  pid: number;
  version: string;
  started_at: Date;
  heartbeat_at: Date;
  lease_until: Date;
  status: 'alive' | 'dead' | 'stopped';
  ended_at: Date | null;
  app_name: string | null;
  app_version: string | null;
}

/** The app version an executor runs: recovery hands it only runs of that version. */
export interface AppIdentity {
  name: string;
  version: string;
}

export interface ExecutorOptions {
  heartbeatMs: number;
  leaseMs: number;
  version: string;
  /** Fixed id; a random one is made when absent. */
  id?: string | undefined;
  /** The app version this executor runs (none for in-process code). */
  app?: AppIdentity | undefined;
}

export function newExecutorId(): string {
  return `${os
    .hostname()
    .replace(/[^A-Za-z0-9.-]/g, '-')
    .slice(0, 40)}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
}

/**
 * Events: 'lost' (old id, new id) when the lease had run out and the node re-registered
 * under a new id, because others may already have taken over the old id's work.
 */
export class ExecutorRegistry extends EventEmitter {
  private currentId: string;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private beating: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
    private readonly opts: ExecutorOptions,
  ) {
    super();
    this.currentId = opts.id ?? newExecutorId();
  }

  get id(): string {
    return this.currentId;
  }

  async register(): Promise<ExecutorRow> {
    const [row] = await callProcedure<ExecutorRow>(
      this.sql,
      'tableos.executor_register',
      this.registration(),
    );
    faultPoint('kernel:register-committed');
    this.schedule();
    return row as ExecutorRow;
  }

  /** The app version this executor runs, if any. */
  get app(): AppIdentity | undefined {
    return this.opts.app;
  }

  /** executor_register's arguments; the app's name and version travel with every registration. */
  private registration(): unknown[] {
    return [
      this.currentId,
      os.hostname(),
      process.pid,
      this.opts.version,
      this.opts.leaseMs,
      this.opts.app?.name ?? null,
      this.opts.app?.version ?? null,
    ];
  }

  /** Renews the lease now; returns the status the database reports for this executor. */
  async heartbeat(): Promise<string> {
    const [row] = await callProcedure<{ executor_heartbeat: string }>(
      this.sql,
      'tableos.executor_heartbeat',
      [this.currentId, this.opts.leaseMs],
    );
    const status = row?.executor_heartbeat ?? 'dead';
    if (status !== 'alive' && !this.stopped) {
      const old = this.currentId;
      this.currentId = newExecutorId();
      this.log.error(
        { executor: old, next: this.currentId },
        'executor lease was lost; re-registering under a new id',
      );
      await callProcedure(this.sql, 'tableos.executor_register', this.registration());
      this.emit('lost', old, this.currentId);
    }
    return status;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.beating;
    await callProcedure(this.sql, 'tableos.executor_stop', [this.currentId]);
  }

  /**
   * The next heartbeat: after heartbeatMs, or sooner after a failed one (a lost connection),
   * so a database that is back in time finds the lease renewed before it runs out.
   */
  private schedule(delayMs = this.opts.heartbeatMs): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      let next = this.opts.heartbeatMs;
      this.beating = this.heartbeat()
        .then(() => undefined)
        .catch((err: unknown) => {
          next = Math.min(this.opts.heartbeatMs, Math.max(50, delayMs < next ? delayMs * 2 : 50));
          this.log.warn({ err: errorMessage(err), executor: this.currentId }, 'heartbeat failed');
        })
        .finally(() => {
          this.beating = undefined;
          this.schedule(next);
        });
    }, delayMs);
    // A heartbeat alone must not keep a finished program alive.
    this.timer.unref();
  }
}

export async function listExecutors(
  sql: Sql,
  opts: { all?: boolean } = {},
): Promise<ExecutorRow[]> {
  return opts.all
    ? await sql<ExecutorRow[]>`select * from tableos.executor order by started_at`
    : await sql<
        ExecutorRow[]
      >`select * from tableos.executor where status = 'alive' order by started_at`;
}
