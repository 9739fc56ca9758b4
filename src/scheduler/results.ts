// Waiting for task results: settled at once for tasks this process ran, otherwise on the
// tableos_task_done notification (one per completed batch), with a fetch of the final rows.
// After a reconnect every waiting task is fetched again; a failed fetch is tried again later.
import { errorMessage } from '../kernel/errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import type { Subscription } from '../kernel/notifier.js';
import { Backoff, retried } from './claims.js';
import { TaskFailedError, UnknownTaskError } from './errors.js';
import type { TaskState } from './types.js';

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface FinalRow {
  id: string;
  state: TaskState;
  result: unknown;
  error: string | null;
}

const FINAL = new Set<TaskState>(['done', 'failed', 'cancelled']);
const RECENT_IDS = 200_000;
const RECENT_RESULTS = 20_000;

/** Adds to a map that forgets its oldest entries past `max`. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value);
  if (map.size > max) {
    for (const k of map.keys()) {
      map.delete(k);
      if (map.size <= max * 0.9) break;
    }
  }
}

export class ResultWaiter {
  private readonly waiters = new Map<string, Waiter[]>();
  /** Tasks announced done while nobody waited; a later wait looks them up. */
  private readonly recentDone = new Map<string, true>();
  /** Results of tasks this process ran while nobody waited. */
  private readonly recentResults = new Map<string, unknown>();
  private listening: Promise<() => void> | undefined;
  private toFetch = new Set<string>();
  private fetching = false;
  private refetch: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff(100, 5_000);
  private closed = false;
  /** Counts re-LISTENs: a wait from before the last one may have missed its notification. */
  private relistens = 0;

  constructor(
    private readonly os: Kernel,
    private readonly log: Logger,
  ) {}

  /** Starts listening; a task enqueued after this resolves cannot finish unseen. */
  async ready(): Promise<void> {
    const listening = (this.listening ??= this.listen());
    try {
      await listening;
    } catch (err) {
      // Not listening after all: the next caller tries again.
      if (this.listening === listening) this.listening = undefined;
      throw err;
    }
  }

  /** Where the listener is now: pass it to wait for a task enqueued after ready(). */
  epoch(): number {
    return this.relistens;
  }

  private listen(): Promise<() => void> {
    const subscription: Subscription = {
      onPayload: (payload) => {
        for (const id of payload.split(',')) {
          if (this.waiters.has(id)) this.toFetch.add(id);
          else remember(this.recentDone, id, true, RECENT_IDS);
        }
        this.fetch();
      },
      // Tasks that finished while the connection was down sent notifications nobody got.
      onRelisten: () => {
        this.relistens++;
        for (const id of this.waiters.keys()) this.toFetch.add(id);
        this.fetch();
      },
    };
    return retried(this.os, 'listen tableos_task_done', () =>
      this.os.notifier.subscribe('tableos_task_done', subscription),
    );
  }

  /**
   * Resolves with the task's result when it is done; rejects with TaskFailedError if it
   * failed. `epoch` (from epoch(), taken after ready() and before the task was enqueued) says
   * no notification for it can have been missed since, so no first look is needed.
   */
  async wait(id: string, epoch?: number): Promise<unknown> {
    const p = new Promise<unknown>((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(id, list);
    });
    try {
      await this.ready();
    } catch (err) {
      this.fail(id, err);
      return p;
    }
    if (this.recentResults.has(id)) {
      this.succeeded(id, this.recentResults.get(id));
    } else if (epoch !== this.relistens || this.recentDone.has(id)) {
      // It may have finished before we listened, before anyone waited, or while the
      // listening connection was down.
      this.toFetch.add(id);
      this.fetch();
    }
    return p;
  }

  /** Settles waiters of a task this process just completed successfully (after its commit). */
  succeeded(id: string, result: unknown): void {
    const list = this.waiters.get(id);
    if (list === undefined) {
      // Nobody waits yet; a handle may still ask for it.
      remember(this.recentResults, id, result, RECENT_RESULTS);
      return;
    }
    this.waiters.delete(id);
    this.recentResults.delete(id);
    this.recentDone.delete(id);
    for (const w of list) w.resolve(result);
  }

  private fail(id: string, err: unknown): void {
    const list = this.waiters.get(id);
    this.waiters.delete(id);
    for (const w of list ?? []) w.reject(err);
  }

  private settle(row: FinalRow): void {
    if (!FINAL.has(row.state)) return;
    const list = this.waiters.get(row.id);
    if (list === undefined) return;
    this.waiters.delete(row.id);
    this.recentDone.delete(row.id);
    for (const w of list) {
      if (row.state === 'done') w.resolve(row.result);
      else w.reject(new TaskFailedError(row.id, row.state, row.error));
    }
  }

  private fetch(): void {
    if (this.fetching || this.toFetch.size === 0 || this.closed) return;
    this.fetching = true;
    const ids = [...this.toFetch];
    this.toFetch.clear();
    let pause = 0;
    // A read: running it again is harmless.
    retried(
      this.os,
      'tableos.task results',
      () => this.os.sql<FinalRow[]>`
        select id, state, result, error from tableos.task where id = any(${ids}::bigint[])`,
    )
      .then((rows) => {
        this.backoff.reset();
        rows.forEach((r) => this.settle(r));
        const found = new Set(rows.map((r) => r.id));
        for (const id of ids)
          if (!found.has(id)) this.fail(id, new UnknownTaskError(`unknown task id ${id}`));
      })
      .catch((err: unknown) => {
        pause = this.backoff.next();
        this.log.warn(
          { err: errorMessage(err), retryMs: pause },
          'could not fetch task results; trying again',
        );
        for (const id of ids) if (this.waiters.has(id)) this.toFetch.add(id);
      })
      .finally(() => {
        this.fetching = false;
        if (this.toFetch.size === 0) return;
        if (pause === 0) return this.fetch();
        clearTimeout(this.refetch);
        this.refetch = setTimeout(() => this.fetch(), pause);
        this.refetch.unref();
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refetch);
    const l = this.listening;
    this.listening = undefined;
    if (l) (await l.catch(() => () => undefined))();
  }
}
