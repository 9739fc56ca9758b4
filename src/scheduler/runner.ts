// The executor side: this process's worker slots, woken by notifications (slow poll as a
// fallback), running registered handlers and reporting outcomes in grouped commits.
import type { Logger } from '../kernel/logger.js';
import { errorMessage } from '../kernel/errors.js';
import type { Kernel } from '../kernel/kernel.js';
import { Batcher } from '../kernel/batcher.js';
import { TaskResultError } from './errors.js';
import * as proc from './procedures.js';
import type { ResultWaiter } from './results.js';
import type { TaskHandler, TaskRow, WorkerOptions } from './types.js';

const MAX_ERROR = 4000;

export class Runner {
  private stopping = false;
  private readonly active = new Set<Promise<void>>();
  private readonly completer: Batcher<proc.Outcome, void>;
  private listeners: (() => void)[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private pumping = false;
  private again: { take: boolean; dispatch: boolean } = { take: false, dispatch: false };
  readonly log: Logger;

  constructor(
    private readonly os: Kernel,
    private readonly handlers: Map<string, TaskHandler>,
    private readonly results: ResultWaiter,
    private readonly opts: Required<Omit<WorkerOptions, 'memoryMb'>> & { memoryMb: number | null },
  ) {
    this.log = os.logger('scheduler');
    this.completer = Batcher.of((outs) => this.completeBatch(outs), {
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
    this.os.executor!.on('lost', () => {
      // Our old slots were reclaimed (their tasks re-queued); offer slots under the new id.
      this.registerWorkers().catch((err: unknown) =>
        this.log.error({ err: errorMessage(err) }, 'could not re-register workers'),
      );
    });
    this.pollTimer = setInterval(() => this.pollOnce(), this.opts.pollMs);
    this.pollTimer.unref();
  }

  async registerWorkers(): Promise<void> {
    const kinds = [...this.handlers.keys()];
    for (const partition of this.opts.partitions) {
      const rows = await proc.registerWorker(
        this.os.sql,
        this.executorId,
        partition,
        this.opts.capacity,
        this.opts.memoryMb,
        this.opts.shards,
        kinds,
      );
      this.runAll(rows);
    }
  }

  async kindsChanged(): Promise<void> {
    await proc.setWorkerKinds(this.os.sql, this.executorId, [...this.handlers.keys()]);
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
    proc
      .reclaim(this.os.sql)
      .then((n) => {
        if (n > 0)
          this.log.info({ requeued: n, dead: msg.id }, 'reclaimed tasks of a dead executor');
      })
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'reclaim failed'));
  }

  private pollOnce(): void {
    if (this.stopping || this.pumping) return;
    proc
      .poll(this.os.sql, this.executorId)
      .then((rows) => this.runAll(rows))
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'scheduler poll failed'));
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
        try {
          this.runAll(await proc.next(this.os.sql, this.executorId, dispatch));
        } catch (err) {
          this.log.warn({ err: errorMessage(err) }, 'scheduler wake-up failed');
          break;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private runAll(rows: TaskRow[]): void {
    // Tasks handed to a stopping executor stay put; the release at stop re-queues them.
    if (this.stopping) return;
    for (const row of rows) {
      const p = this.runOne(row).finally(() => this.active.delete(p));
      this.active.add(p);
    }
  }

  private async runOne(task: TaskRow): Promise<void> {
    const handler = this.handlers.get(task.kind);
    let outcome: proc.Outcome;
    if (handler === undefined) {
      outcome = {
        id: task.id,
        result: null,
        error: `no handler for task kind ${JSON.stringify(task.kind)} on executor ${this.executorId}`,
      };
    } else {
      try {
        const value = await handler(task.payload, task);
        outcome = { id: task.id, result: value === undefined ? null : toJson(value), error: null };
      } catch (err) {
        outcome = {
          id: task.id,
          result: null,
          error: errorMessage(err).slice(0, MAX_ERROR) || 'error',
        };
      }
    }
    try {
      await this.completer.push(outcome);
    } catch (err) {
      // The task stays running under this executor; if we die it is re-queued.
      this.log.error({ err: errorMessage(err), task: task.id }, 'could not record task outcome');
    }
  }

  private async completeBatch(outcomes: proc.Outcome[]): Promise<void[]> {
    const next = await proc.complete(this.os.sql, this.executorId, outcomes);
    for (const o of outcomes) {
      if (o.error === null)
        this.results.succeeded(o.id, o.result === null ? null : JSON.parse(o.result));
    }
    this.runAll(next);
    return outcomes.map(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.wakeTimer);
    // Let running handlers finish (their outcomes are recorded) up to the drain time.
    const drained = Promise.allSettled([...this.active]);
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
    const requeued = await proc.releaseWorkers(this.os.sql, this.executorId);
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
