// The scheduler service of one TableOS node: queues, enqueue with result handles, the
// handler registry, and (on an executor) worker slots and cron firing.
import type { Kernel } from '../kernel/kernel.js';
import type { Workflows } from '../workflows/service.js';
import { Batcher } from '../kernel/batcher.js';
import { newIdempotencyKey, retried, unavailable } from './claims.js';
import { CronRunner, addCron, pauseCron } from './cron.js';
import { NotExecutorError, SchedulerInvalidError, UnknownCronError } from './errors.js';
import * as proc from './procedures.js';
import { ResultWaiter } from './results.js';
import { Runner } from './runner.js';
import {
  toCron,
  toPolicy,
  toQueue,
  toTask,
  toWorker,
  type CronRow,
  type PolicyRow,
  type QueueRow,
  type TaskRow,
  type WorkerRow,
} from './rows.js';
import type {
  CronInfo,
  EnqueueOptions,
  PolicyInfo,
  QueueInfo,
  QueueOptions,
  TaskHandler,
  TaskInfo,
  TaskState,
  WorkerInfo,
  WorkerOptions,
} from './types.js';
import * as v from './validate.js';
import type { WorkflowHandle } from '../workflows/admin.js';
import {
  WORKFLOW_TASK_KIND,
  enqueueWorkflow,
  workflowTaskHandler,
  type QueuedWorkflowOptions,
} from './queued-workflows.js';

/** A task that was enqueued: wait for its result, like a started workflow. */
export class TaskHandle<T = unknown> {
  constructor(
    readonly id: string,
    /** True when a live task with the same dedup key already existed and this is that task. */
    readonly existed: boolean,
    private readonly sched: Scheduler,
    /** Set when enqueued here while listening for completions (see ResultWaiter.wait). */
    private readonly epoch?: number,
  ) {}

  /** The handler's return value once done; rejects with TaskFailedError if it failed. */
  result(): Promise<T> {
    return this.sched.waitFor(this.id, this.epoch) as Promise<T>;
  }

  status(): Promise<TaskInfo> {
    return this.sched.task(this.id);
  }
}

/** A cron schedule as this process added it. */
export interface AddedCron {
  name: string;
  expr: string;
  queue: string;
  kind: string;
  tz: string;
}

const STATES = new Set<TaskState>(['queued', 'assigned', 'running', 'done', 'failed', 'cancelled']);

export class Scheduler {
  private readonly handlers = new Map<string, TaskHandler>();
  private readonly results: ResultWaiter;
  private readonly enqueuer: Batcher<proc.EnqueueRow, proc.Enqueued>;
  private runner: Runner | undefined;
  private cronRunner: CronRunner | undefined;
  /** Schedules this process added, by name (an app's deployed cron functions). */
  private readonly cronAdded = new Map<string, AddedCron>();

  constructor(
    private readonly os: Kernel,
    /** The workflows service that runs queued workflows. */
    private readonly workflows: Workflows,
  ) {
    this.results = new ResultWaiter(os, os.logger('scheduler'));
    // Every row carries its idempotency key, so the batch is safe to send again.
    this.enqueuer = Batcher.settling(
      async (rows) => {
        try {
          const out = await retried(
            os,
            'tableos.sched_enqueue',
            () => proc.enqueueBatch(os.sql, rows),
            'scheduler:enqueue-committed',
          );
          return out.map((value) => ({ ok: true as const, value }));
        } catch (err) {
          // Past the reconnect deadline: sending each row alone would only wait as long again.
          if (unavailable(err)) return rows.map(() => ({ ok: false as const, error: err }));
          throw err;
        }
      },
      { maxInFlight: 4, gather: 'none', regather: false, onFailure: 'retry-each' },
    );
  }

  /** Runs a statement that is safe to run twice, again after each lost connection. */
  private call<T>(what: string, run: () => Promise<T>): Promise<T> {
    return retried(this.os, what, run);
  }

  /** The cron schedules this process added (os.scheduler.cron.add), by name. */
  cronSchedules(): AddedCron[] {
    return [...this.cronAdded.values()];
  }

  /** Maps a task kind to its handler in this process. Re-registering replaces it. */
  register(kind: string, handler: TaskHandler): this {
    v.kind(kind);
    if (typeof handler !== 'function') {
      throw new SchedulerInvalidError(`handler for ${kind} must be a function`);
    }
    const isNew = !this.handlers.has(kind);
    this.handlers.set(kind, handler);
    if (isNew && this.runner) {
      this.runner
        .kindsChanged()
        .catch((err: unknown) => this.os.log.warn({ err }, 'could not update worker kinds'));
    }
    return this;
  }

  /** Creates the queue or changes its settings; limits not given are removed. */
  async queue(name: string, opts: QueueOptions = {}): Promise<QueueInfo> {
    v.name('queue name', name);
    const rate = opts.rateLimit ?? null;
    const settings = {
      policy:
        opts.policy === undefined ? null : v.name('policy', opts.policy, /^[a-z][a-z0-9_]{0,62}$/),
      partition: v.optInt('partition', opts.partition, 0),
      concurrency: v.optInt('concurrency', opts.concurrency, 1),
      perExecutor: v.optInt('perExecutor', opts.perExecutor, 1),
      perKey: v.optInt('perKey', opts.perKey, 1),
      rateLimit: rate === null ? null : v.int('rateLimit.count', rate.count, 1),
      ratePeriodMs: rate === null ? null : v.int('rateLimit.periodMs', rate.periodMs, 1),
    };
    // An upsert of the whole setting: the same result however often it runs.
    return this.call('tableos.sched_queue_upsert', () =>
      proc.upsertQueue(this.os.sql, name, settings),
    );
  }

  getQueue(name: string): Promise<QueueInfo> {
    return this.call('tableos.sched_queue_get', () => proc.getQueue(this.os.sql, name));
  }

  async queues(): Promise<QueueInfo[]> {
    const rows = await this.call(
      'tableos.queue',
      () => this.os.sql<QueueRow[]>`select * from tableos.queue order by name`,
    );
    return rows.map(toQueue);
  }

  pause(queue: string): Promise<QueueInfo> {
    return this.call('tableos.sched_queue_pause', () => proc.pauseQueue(this.os.sql, queue, true));
  }

  resume(queue: string): Promise<QueueInfo> {
    return this.call('tableos.sched_queue_pause', () => proc.pauseQueue(this.os.sql, queue, false));
  }

  /** Swaps the queue's placement policy at run time; the next placement uses it. */
  setPolicy(queue: string, policy: string): Promise<QueueInfo> {
    return this.call('tableos.sched_queue_policy', () =>
      proc.setPolicy(this.os.sql, queue, policy),
    );
  }

  async policies(): Promise<PolicyInfo[]> {
    const rows = await this.call(
      'tableos.sched_policy',
      () => this.os.sql<PolicyRow[]>`select * from tableos.sched_policy order by name`,
    );
    return rows.map(toPolicy);
  }

  /** Registers a SQL function fn(tableos.task, tableos.worker[]) returns text as a policy. */
  async addPolicy(name: string, fn: string, description = ''): Promise<PolicyInfo> {
    const row = await this.call('tableos.sched_policy_add', () =>
      proc.one<PolicyRow>(this.os.sql, 'tableos.sched_policy_add', [name, fn, description]),
    );
    return toPolicy(row);
  }

  async enqueue<T = unknown>(
    queue: string,
    kind: string,
    payload?: unknown,
    opts: EnqueueOptions = {},
  ): Promise<TaskHandle<T>> {
    const row = toRow(queue, kind, payload, opts);
    const own = row.idempotencyKey === null;
    if (own) row.idempotencyKey = newIdempotencyKey();
    await this.results.ready();
    const epoch = this.results.epoch();
    const r = await this.enqueuer.push(row);
    // A key made here names only this call's task: found by it, the task is ours (a retry
    // found what its first attempt made), not one that existed before.
    const existed = r.existed && !(own && r.byKey);
    return new TaskHandle<T>(r.id, existed, this, epoch);
  }

  /**
   * Enqueues a run of a workflow (registered here, or named) on queue: the run's row and its
   * task commit together. Returns the workflow's handle; opts.id is the idempotency key.
   * Executors that run the queue's tasks must have the workflow registered.
   */
  async enqueueWorkflow<R = unknown>(
    queue: string,
    workflow: { name: string } | string,
    args: unknown[],
    opts: QueuedWorkflowOptions = {},
  ): Promise<WorkflowHandle<R>> {
    const name = typeof workflow === 'string' ? workflow : workflow.name;
    const id = await enqueueWorkflow(this.os, queue, name, args, opts, (payload, o) =>
      toRow(queue, WORKFLOW_TASK_KIND, payload, o),
    );
    return this.workflows.handle<R>(id);
  }

  /** A handle on an existing task, by id. */
  handle<T = unknown>(id: string | number): TaskHandle<T> {
    return new TaskHandle<T>(v.taskId(id), true, this);
  }

  waitFor(id: string, epoch?: number): Promise<unknown> {
    return this.results.wait(id, epoch);
  }

  async task(id: string | number): Promise<TaskInfo> {
    const taskId = v.taskId(id);
    return this.call('tableos.sched_task_get', () => proc.getTask(this.os.sql, taskId));
  }

  /** Cancels a queued task; cancelling a cancelled task again returns it as it is. */
  async cancel(id: string | number): Promise<TaskInfo> {
    const taskId = v.taskId(id);
    return this.call('tableos.sched_cancel', () => proc.cancelTask(this.os.sql, taskId));
  }

  async tasks(
    filter: { queue?: string; state?: TaskState; limit?: number } = {},
  ): Promise<TaskInfo[]> {
    if (filter.state !== undefined && !STATES.has(filter.state)) {
      throw new SchedulerInvalidError(
        `unknown task state ${JSON.stringify(filter.state)}; one of ${[...STATES].join(', ')}`,
      );
    }
    if (filter.queue !== undefined) await this.getQueue(filter.queue);
    const limit = filter.limit === undefined ? 100 : v.int('limit', filter.limit, 1, 100_000);
    const rows = await this.call(
      'tableos.task',
      () => this.os.sql<TaskRow[]>`
        select * from tableos.task
         where (${filter.queue ?? null}::text is null or queue = ${filter.queue ?? null})
           and (${filter.state ?? null}::text is null or state = ${filter.state ?? null})
         order by id desc limit ${limit}`,
    );
    return rows.map(toTask);
  }

  async workers(opts: { all?: boolean } = {}): Promise<WorkerInfo[]> {
    const rows = await this.call(
      'tableos.worker',
      () => this.os.sql<WorkerRow[]>`
        select * from tableos.worker where ${opts.all === true} or status = 'alive' order by seq`,
    );
    return rows.map(toWorker);
  }

  /** Offers this executor's slots and runs registered handlers; also fires cron schedules. */
  async start(opts: WorkerOptions = {}): Promise<void> {
    if (this.os.executor === undefined) {
      throw new NotExecutorError(
        'this node was opened with executor: false; it can enqueue but not run tasks',
      );
    }
    if (this.runner) return;
    // Queued workflows are tasks like any other: every executor can run the ones it registered.
    if (!this.handlers.has(WORKFLOW_TASK_KIND)) {
      this.handlers.set(WORKFLOW_TASK_KIND, workflowTaskHandler(this.os, this.workflows));
    }
    const partitions = opts.partitions ?? [0];
    if (!Array.isArray(partitions) || partitions.length === 0) {
      throw new SchedulerInvalidError('partitions must be a non-empty array of integers');
    }
    const o = {
      capacity: v.int('capacity', opts.capacity ?? 10, 1, 100_000),
      memoryMb: v.optInt('memoryMb', opts.memoryMb, 0),
      shards: (opts.shards ?? []).map((s) => v.text('shard', s)),
      partitions: partitions.map((p) => v.int('partition', p, 0)),
      pollMs: v.int('pollMs', opts.pollMs ?? 5000, 10),
      drainMs: v.int('drainMs', opts.drainMs ?? 10_000, 0),
    };
    const runner = new Runner(this.os, this.handlers, this.results, o);
    this.runner = runner;
    await runner.start();
    // Changes to schedules arrive by NOTIFY and due ticks by timer; the long sleep is a fallback.
    this.cronRunner = new CronRunner(
      this.os,
      this.os.logger('scheduler'),
      Math.max(o.pollMs, 30_000),
    );
    await this.cronRunner.start();
  }

  /** Stops running tasks here (handlers get drainMs to finish) and releases the slots. */
  /** Stops this node's part in scheduling (as stop); the node calls it at close. */
  close(): Promise<void> {
    return this.stop();
  }

  async stop(): Promise<void> {
    await this.cronRunner?.stop();
    this.cronRunner = undefined;
    await this.runner?.stop();
    this.runner = undefined;
    await this.enqueuer.drained();
    await this.results.close();
  }

  readonly cron = {
    add: (
      name: string,
      expr: string,
      opts: { queue: string; kind: string; payload?: unknown; tz?: string; backfill?: boolean },
    ): Promise<CronInfo> => {
      v.name('schedule name', name);
      v.kind(opts.kind);
      v.payload(opts.payload);
      return this.call('tableos.sched_cron_upsert', async () => {
        const info = await addCron(this.os.sql, name, expr, opts);
        this.cronAdded.set(name, { name, expr, queue: opts.queue, kind: opts.kind, tz: info.tz });
        return info;
      });
    },
    list: async (): Promise<CronInfo[]> => {
      const rows = await this.call(
        'tableos.cron',
        () => this.os.sql<CronRow[]>`select * from tableos.cron order by name`,
      );
      return rows.map(toCron);
    },
    pause: (name: string) =>
      this.call('tableos.sched_cron_pause', () => pauseCron(this.os.sql, name, true)),
    resume: (name: string) =>
      this.call('tableos.sched_cron_pause', () => pauseCron(this.os.sql, name, false)),
    remove: (name: string) => this.removeCron(name),
  };

  /**
   * Removing twice would fail the second time, so a retry after a lost answer that finds the
   * schedule gone reports the row read before.
   */
  private async removeCron(name: string): Promise<CronInfo> {
    const row = await this.call('tableos.sched_cron_get', () => proc.getCron(this.os.sql, name));
    let lost = false;
    return this.call('tableos.sched_cron_remove', async () => {
      const again = lost;
      lost = true;
      try {
        const removed = await proc.removeCron(this.os.sql, name);
        this.cronAdded.delete(name);
        return removed;
      } catch (err) {
        if (again && err instanceof UnknownCronError) return row;
        throw err;
      }
    });
  }
}

export function toRow(
  queue: string,
  kind: string,
  payload: unknown,
  o: EnqueueOptions,
): proc.EnqueueRow {
  if (o.delayMs !== undefined && o.runAt !== undefined) {
    throw new SchedulerInvalidError('give delayMs or runAt, not both');
  }
  let runAt: string | null = null;
  if (o.delayMs !== undefined) {
    if (typeof o.delayMs !== 'number' || !Number.isFinite(o.delayMs) || o.delayMs < 0) {
      throw new SchedulerInvalidError(
        `delayMs must be a finite number >= 0, got ${String(o.delayMs)}`,
      );
    }
    runAt = new Date(Date.now() + o.delayMs).toISOString();
  } else if (o.runAt !== undefined) {
    if (!(o.runAt instanceof Date) || Number.isNaN(o.runAt.getTime())) {
      throw new SchedulerInvalidError('runAt must be a valid Date');
    }
    runAt = o.runAt.toISOString();
  }
  return {
    queue: v.name('queue name', queue),
    kind: v.kind(kind),
    payload: v.payload(payload),
    priority: v.optInt('priority', o.priority, -2_147_483_648),
    runAt,
    memoryMb: v.optInt('memoryMb', o.memoryMb, 0),
    localityKey: o.localityKey === undefined ? null : v.text('localityKey', o.localityKey),
    partitionKey: o.partitionKey === undefined ? null : v.text('partitionKey', o.partitionKey),
    dedupKey: o.dedupKey === undefined ? null : v.text('dedupKey', o.dedupKey),
    maxAttempts: v.optInt('maxAttempts', o.maxAttempts, 1),
    idempotencyKey:
      o.idempotencyKey === undefined ? null : v.text('idempotencyKey', o.idempotencyKey),
  };
}
