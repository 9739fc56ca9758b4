// Waiting for task results: settled at once for tasks this process ran, otherwise on the
// tableos_task_done notification (one per completed batch), with a fetch of the final rows.
import type { Notifier } from '../kernel/notifier.js';
import type { Sql } from '../kernel/database.js';
import { errorMessage } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';
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

  constructor(
    private readonly notifier: Notifier,
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {}

  /** Starts listening; a task enqueued after this resolves cannot finish unseen. */
  async ready(): Promise<void> {
    this.listening ??= this.notifier.subscribe('tableos_task_done', {
      onPayload: (payload) => {
        for (const id of payload.split(',')) {
          if (this.waiters.has(id)) this.toFetch.add(id);
          else remember(this.recentDone, id, true, RECENT_IDS);
        }
        this.fetch();
      },
      // Tasks that finished while the connection was down sent notifications nobody got.
      onRelisten: () => {
        for (const id of this.waiters.keys()) this.toFetch.add(id);
        this.fetch();
      },
    });
    await this.listening;
  }

  /**
   * Resolves with the task's result when it is done; rejects with TaskFailedError if it
   * failed. `seen` says the task was enqueued after ready(), so no first look is needed.
   */
  async wait(id: string, seen = false): Promise<unknown> {
    const p = new Promise<unknown>((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(id, list);
    });
    await this.ready();
    if (this.recentResults.has(id)) {
      this.succeeded(id, this.recentResults.get(id));
    } else if (!seen || this.recentDone.has(id)) {
      // It may have finished before we listened, or before anyone waited.
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
    if (this.fetching || this.toFetch.size === 0) return;
    this.fetching = true;
    const ids = [...this.toFetch];
    this.toFetch.clear();
    this.sql<FinalRow[]>`
      select id, state, result, error from tableos.task where id = any(${ids}::bigint[])`
      .then((rows) => {
        rows.forEach((r) => this.settle(r));
        const found = new Set(rows.map((r) => r.id));
        for (const id of ids)
          if (!found.has(id)) this.fail(id, new UnknownTaskError(`unknown task id ${id}`));
      })
      .catch((err: unknown) => {
        this.log.warn({ err: errorMessage(err) }, 'could not fetch task results; retrying');
        for (const id of ids) this.toFetch.add(id);
      })
      .finally(() => {
        this.fetching = false;
        if (this.toFetch.size > 0) setTimeout(() => this.fetch(), 20).unref();
      });
  }

  async close(): Promise<void> {
    const l = this.listening;
    this.listening = undefined;
    if (l) (await l.catch(() => () => undefined))();
  }
}
