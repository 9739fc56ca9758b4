// The executor side: this process's worker slots, woken by notifications (slow poll as a
// fallback), running registered handlers and reporting outcomes in grouped commits. Every
// statement retries after a lost connection (claims.ts); no loop ends on a database error.
import type { Logger } from '../kernel/logger.js';
import { errorMessage } from '../kernel/errors.js';
import type { Kernel } from '../kernel/kernel.js';
import { Batcher, type BatchOutcome } from '../kernel/batcher.js';
import { Backoff, claiming, retried, unavailable } from './claims.js';
import { TaskResultError } from './errors.js';
import * as proc from './procedures.js';
import type { ResultWaiter } from './results.js';
import type { TaskContext, TaskHandler, TaskInfo, WorkerOptions } from './types.js';

const MAX_ERROR = 4000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class Runner {
  private stopping = false;
  /** Tasks running here, by id, until their outcome is recorded. */
  private readonly active = new Map<string, Promise<void>>();
  private readonly completer: Batcher<proc.Outcome, void>;
  private listeners: (() => void)[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private pumping = false;
  private again: { take: boolean; dispatch: boolean } = { take: false, dispatch: false };
  private readonly pumpBackoff = new Backoff();
  /** Claims whose statement failed altogether (their tasks may run here), by executor id. */
  private readonly failedClaims = new Map<string, string>();
  private readonly onLost = () => void this.reregister();
  readonly log: Logger;

  constructor(
    private readonly os: Kernel,
    private readonly handlers: Map<string, TaskHandler>,
    private readonly results: ResultWaiter,
    private readonly opts: Required<Omit<WorkerOptions, 'memoryMb'>> & { memoryMb: number | null },
  ) {
    this.log = os.logger('scheduler');
    this.completer = Batcher.settling((outs) => this.completeBatch(outs), {
      maxInFlight: 2,
      gather: 'none',
      regather: false,
      onFailure: 'retry-each',
    });
  }

  get executorId(): string {
    return this.os.executor!.id;
  }

  /** Tasks this process is running now. */
  get running(): number {
    return this.active.size;
  }

  async start(): Promise<void> {
    const n = this.os.notifier;
    // After a reconnect, work that arrived meanwhile raised notifications nobody got: poll.
    const onRelisten = () => this.pollOnce();
    this.listeners.push(
      await n.subscribe('tableos_sched', { onPayload: (p) => this.onSched(p), onRelisten }),
      await n.subscribe('tableos_executor', { onPayload: (p) => this.onExecutor(p), onRelisten }),
    );
    await this.registerWorkers();
    // Our old slots were reclaimed (their tasks re-queued); offer slots under the new id.
    this.os.executor!.on('lost', this.onLost);
    this.pollTimer = setInterval(() => this.pollOnce(), this.opts.pollMs);
    this.pollTimer.unref();
  }

  async registerWorkers(): Promise<void> {
    const kinds = [...this.handlers.keys()];
    const executor = this.executorId;
    for (const partition of this.opts.partitions) {
      const rows = await this.claim(
        'tableos.sched_worker_register',
        'scheduler:claim-committed',
        (c) =>
          proc.registerWorker(
            this.os.sql,
            executor,
            partition,
            this.opts.capacity,
            this.opts.memoryMb,
            this.opts.shards,
            kinds,
            c,
          ),
      );
      this.runAll(rows);
    }
  }

  /** Registers the slots under a new executor id, trying again until it works or we stop. */
  private async reregister(): Promise<void> {
    const backoff = new Backoff();
    while (!this.stopping) {
      try {
        await this.registerWorkers();
        return;
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'could not re-register workers; trying again');
        await sleep(backoff.next());
      }
    }
  }

  async kindsChanged(): Promise<void> {
    const executor = this.executorId;
    const kinds = [...this.handlers.keys()];
    await retried(this.os, 'tableos.sched_worker_kinds', () =>
      proc.setWorkerKinds(this.os.sql, executor, kinds),
    );
    this.wake(true, true);
  }

  private onSched(payload: string): void {
    if (this.stopping) return;
    if (payload === this.executorId) return this.wake(true, false);
    if (payload.startsWith('@')) {
      const at = Number(payload.slice(1));
      if (Number.isFinite(at) && at < this.wakeAt) {
        clearTimeout(this.wakeTimer);
        this.wakeAt = at;
        this.wakeTimer = setTimeout(
          () => {
            this.wakeAt = Infinity;
            this.wake(false, true);
          },
          Math.max(0, at - Date.now()) + 5,
        );
        this.wakeTimer.unref();
      }
    }
  }

  private onExecutor(payload: string): void {
    if (this.stopping) return;
    let msg: { id?: unknown; status?: unknown };
    try {
      msg = JSON.parse(payload) as typeof msg;
    } catch {
      return;
    }
    if (msg.status !== 'dead' && msg.status !== 'stopped') return;
    // Reclaiming twice is harmless: the second run finds nothing left to re-queue.
    retried(this.os, 'tableos.sched_reclaim', () => proc.reclaim(this.os.sql))
      .then((n) => {
        if (n > 0)
          this.log.info({ requeued: n, dead: msg.id }, 'reclaimed tasks of a dead executor');
      })
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'reclaim failed'));
  }

  private pollOnce(): void {
    if (this.stopping || this.pumping) return;
    const executor = this.executorId;
    this.claimAgain()
      .then(() =>
        this.claim('tableos.sched_poll', 'scheduler:claim-committed', (c) =>
          proc.poll(this.os.sql, executor, c),
        ),
      )
      .then((rows) => this.runAll(rows))
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'scheduler poll failed'));
  }

  private claim<T>(
    what: string,
    point: 'scheduler:claim-committed' | 'scheduler:complete-committed',
    run: (c: proc.Claim) => Promise<T>,
  ): Promise<T> {
    const executor = this.executorId;
    return claiming(this.os, what, point, run, (claim) => this.failedClaims.set(claim, executor));
  }

  /**
   * Asks again for the tasks of claims whose statement failed: one that committed before its
   * answer was lost started tasks here that this process has not seen.
   */
  private async claimAgain(): Promise<void> {
    for (const [claim, executor] of [...this.failedClaims]) {
      // Under an id whose lease was lost, those tasks were re-queued when its slots were reclaimed.
      if (executor === this.executorId) {
        const rows = await retried(this.os, 'tableos.sched_next', () =>
          proc.next(this.os.sql, executor, false, { claim, retry: true }),
        );
        this.runAll(rows);
      }
      this.failedClaims.delete(claim);
    }
  }

  /** Coalesced wake-up: at most one sched_next in flight; later wake-ups fold into one more. */
  wake(take: boolean, dispatch: boolean): void {
    this.again.take ||= take;
    this.again.dispatch ||= dispatch;
    if (this.pumping || this.stopping) return;
    this.pumping = true;
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      while (!this.stopping && (this.again.take || this.again.dispatch)) {
        const dispatch = this.again.dispatch;
        this.again = { take: false, dispatch: false };
        const executor = this.executorId;
        try {
          const rows = await this.claim('tableos.sched_next', 'scheduler:claim-committed', (c) =>
            proc.next(this.os.sql, executor, dispatch, c),
          );
          this.pumpBackoff.reset();
          this.runAll(rows);
        } catch (err) {
          // The wake-up is kept: it runs again after a pause instead of waiting for the poll.
          const pause = this.pumpBackoff.next();
          this.log.warn({ err: errorMessage(err), retryMs: pause }, 'scheduler wake-up failed');
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => this.wake(true, dispatch), pause);
          this.retryTimer.unref();
          break;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private runAll(rows: TaskInfo[]): void {
    // Tasks handed to a stopping executor stay put; the release at stop re-queues them.
    if (this.stopping) return;
    for (const row of rows) {
      if (this.active.has(row.id)) {
        this.log.warn({ task: row.id }, 'task handed out twice; it runs once');
        continue;
      }
      // Both times are the database's clock: the wait from due to started, on one machine.
      if (row.startedAt !== null) {
        const due = Math.max(row.createdAt.getTime(), row.runAt.getTime());
        this.os.metrics.placementLatency.observe(Math.max(0, row.startedAt.getTime() - due) / 1000);
      }
      const p = this.runOne(row).finally(() => this.active.delete(row.id));
      this.active.set(row.id, p);
    }
  }

  private async runOne(task: TaskInfo): Promise<void> {
    const handler = this.handlers.get(task.kind);
    let outcome: proc.Outcome;
    const base = { id: task.id, attempts: task.attempts };
    if (handler === undefined) {
      outcome = {
        ...base,
        result: null,
        error: `no handler for task kind ${JSON.stringify(task.kind)} on executor ${this.executorId}`,
      };
    } else {
      try {
        const value = await handler(task.payload, task, this.taskContext(task));
        outcome = { ...base, result: value === undefined ? null : toJson(value), error: null };
      } catch (err) {
        outcome = {
          ...base,
          result: null,
          error: errorMessage(err).slice(0, MAX_ERROR) || 'error',
        };
      }
    }
    await this.record(outcome);
  }

  /**
   * Records an outcome; while the database stays away, keeps it and tries again, because the
   * task holds its slot until then. Only a defect (not a lost connection) drops it.
   */
  /** The handler's context; its logger is made only when the handler asks for it. */
  private taskContext(task: TaskInfo): TaskContext {
    const parent = this.log;
    let log: Logger | undefined;
    return {
      get log() {
        log ??= parent.child({ task: task.id, queue: task.queue, kind: task.kind });
        return log;
      },
    };
  }

  private async record(outcome: proc.Outcome): Promise<void> {
    const backoff = new Backoff();
    for (;;) {
      try {
        await this.completer.push(outcome);
        return;
      } catch (err) {
        if (!unavailable(err)) {
          // The task stays running under this executor; if we die it is re-queued.
          this.log.error(
            { err: errorMessage(err), task: outcome.id },
            'could not record task outcome',
          );
          return;
        }
        const pause = backoff.next();
        this.log.warn(
          { err: errorMessage(err), task: outcome.id, retryMs: pause },
          'could not record task outcome yet; keeping it',
        );
        await sleep(pause);
      }
    }
  }

  private async completeBatch(outcomes: proc.Outcome[]): Promise<BatchOutcome<void>[]> {
    const executor = this.executorId;
    let next: TaskInfo[];
    try {
      next = await this.claim('tableos.sched_complete', 'scheduler:complete-committed', (c) =>
        proc.complete(this.os.sql, executor, outcomes, c),
      );
    } catch (err) {
      // Unreachable past the deadline: running each alone again would only wait as long again.
      if (unavailable(err)) return outcomes.map(() => ({ ok: false, error: err }));
      throw err;
    }
    for (const o of outcomes) {
      if (o.error === null)
        this.results.succeeded(o.id, o.result === null ? null : JSON.parse(o.result));
    }
    this.runAll(next);
    return outcomes.map(() => ({ ok: true, value: undefined }));
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.os.executor?.off('lost', this.onLost);
    clearInterval(this.pollTimer);
    clearTimeout(this.wakeTimer);
    clearTimeout(this.retryTimer);
    // Let running handlers finish (their outcomes are recorded) up to the drain time.
    const drained = Promise.allSettled([...this.active.values()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      drained,
      new Promise((r) => {
        timer = setTimeout(r, this.opts.drainMs);
      }),
    ]);
    clearTimeout(timer);
    await this.completer.drained();
    for (const off of this.listeners.splice(0)) off();
    const executor = this.executorId;
    // Releasing twice is harmless: the second run finds nothing left to re-queue.
    const requeued = await retried(this.os, 'tableos.sched_worker_release', () =>
      proc.releaseWorkers(this.os.sql, executor),
    );
    if (requeued > 0) this.log.warn({ requeued }, 'tasks still running at stop were re-queued');
  }
}

function toJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new TaskResultError(`task result is not JSON-serialisable: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return text ?? 'null';
}
