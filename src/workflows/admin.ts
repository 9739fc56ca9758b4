// Management and observation of workflows, needing no registered code: list, get, steps,
// cancel, resume, fork, gc, waiting for results and events. Used by the service and the client.
import crypto from 'node:crypto';
import type { Sql } from '../kernel/database.js';
import { runQuery } from '../kernel/query.js';
import type { Logger } from '../kernel/logger.js';
import {
  WorkflowResultTimeoutError,
  WorkflowArgumentError,
  WorkflowNotFoundError,
} from './errors.js';
import type { Notifier } from '../kernel/notifier.js';
import { waitUntil } from '../kernel/wait.js';
import {
  rowOutcome,
  toCallInfo,
  toInfo,
  type CallInfo,
  type CallRow,
  type WorkflowInfo,
  type WorkflowRow,
} from './rows.js';
import { deserialize, serialize } from './serialize.js';
import { TERMINAL, outcomeValue, type Outcome, type WorkflowStatus } from './types.js';
import { StatusFeed } from './status-feed.js';
import { checkId, checkMs, checkName } from './validate.js';

const STATUSES = new Set([
  'enqueued',
  'pending',
  'success',
  'error',
  'cancelled',
  'max_recovery_exceeded',
]);

export interface ListOptions {
  status?: WorkflowStatus;
  name?: string;
  /** Created at or after. */
  since?: Date;
  /** Created before. */
  until?: Date;
  /** Page size (default 100, at most 10000). */
  limit?: number;
  offset?: number;
}

export interface WaitOptions {
  /** Give up after this many ms with WorkflowResultTimeoutError (default: wait forever). */
  timeoutMs?: number;
}

/** What a handle asks about its run: the admin, or the service (which knows its own runs). */
export interface RunObserver {
  waitOutcome(id: string, opts?: WaitOptions): Promise<Outcome>;
  get(id: string): Promise<WorkflowInfo>;
}

/** A run that may be in this process or anywhere else. */
export class WorkflowHandle<R = unknown> {
  constructor(
    private readonly observer: RunObserver,
    readonly workflowId: string,
  ) {}

  /** Waits for the run to finish and returns its result, or throws its error. */
  async result(opts: WaitOptions = {}): Promise<R> {
    return outcomeValue(await this.observer.waitOutcome(this.workflowId, opts)) as R;
  }

  status(): Promise<WorkflowInfo> {
    return this.observer.get(this.workflowId);
  }
}

export class WorkflowAdmin {
  readonly pollMs: number;
  /** Status lines of tableos_wf: shared with the service when it made this admin. */
  private readonly status: StatusFeed;
  private readonly ownsStatus: boolean;
  private readonly retry: <T>(what: string, op: () => Promise<T>) => Promise<T>;

  constructor(
    readonly sql: Sql,
    readonly log: Logger,
    readonly notifier: Notifier,
    opts: {
      pollMs?: number;
      /** Runs a read again after a lost connection (default: once). */
      retrying?: <T>(what: string, op: () => Promise<T>) => Promise<T>;
      /** The process's status subscription, when its owner is another part (default: own). */
      status?: StatusFeed;
    } = {},
  ) {
    this.pollMs = opts.pollMs ?? 5000;
    this.retry = opts.retrying ?? ((_what, op) => op());
    this.ownsStatus = opts.status === undefined;
    this.status = opts.status ?? new StatusFeed(notifier);
  }

  handle<R = unknown>(id: string): WorkflowHandle<R> {
    return new WorkflowHandle<R>(this, checkId(id));
  }

  /** Waits (LISTEN/NOTIFY, slow poll as fallback) until the workflow is finished. */
  async waitOutcome(id: string, opts: WaitOptions = {}): Promise<Outcome> {
    const timeoutMs = checkMs(opts.timeoutMs, 'timeoutMs');
    await this.status.listen();
    const outcome = await waitUntil(
      this.notifier,
      async () => {
        const row = await this.retry('tableos.wf_require', () => this.require(id));
        return TERMINAL.has(row.status) ? rowOutcome(row) : undefined;
      },
      {
        channel: 'tableos_wf',
        deadline: timeoutMs === undefined ? Infinity : Date.now() + timeoutMs,
        pollMs: this.pollMs,
        wakeOn: (wake) => this.status.onRun(id, wake),
      },
    );
    if (outcome === undefined) throw new WorkflowResultTimeoutError(id, timeoutMs ?? 0);
    return outcome;
  }

  async readEvent(workflowId: string, key: string): Promise<{ found: boolean; value: unknown }> {
    const [row] = await this.retry(
      'tableos.workflow_event',
      () => this.sql<{ value: string | null }[]>`
        select value from tableos.workflow_event where workflow_id = ${workflowId} and key = ${key}`,
    );
    return row === undefined
      ? { found: false, value: undefined }
      : { found: true, value: deserialize(row.value) };
  }

  /** Reads an event of a workflow, waiting up to timeoutMs (default 0) for it to be set; undefined if it never was. */
  async getEvent<T = unknown>(
    workflowId: string,
    key: string,
    opts: WaitOptions = {},
  ): Promise<T | undefined> {
    checkId(workflowId);
    const deadline = Date.now() + (checkMs(opts.timeoutMs, 'timeoutMs') ?? 0);
    const ev = await waitUntil(
      this.notifier,
      async () => {
        const e = await this.readEvent(workflowId, key);
        return e.found ? e : undefined;
      },
      {
        channel: 'tableos_wf_event',
        deadline,
        pollMs: this.pollMs,
        filter: (p) => p === workflowId,
      },
    );
    return ev?.value as T | undefined;
  }

  /** Creates an enqueued run of a workflow by name, for an executor that has its code to run. */
  async enqueue(
    name: string,
    args: unknown[],
    opts: { id?: string; timeoutMs?: number } = {},
  ): Promise<WorkflowHandle> {
    checkName(name, 'workflow');
    if (!Array.isArray(args)) throw new WorkflowArgumentError('arguments must be an array');
    const id = opts.id === undefined ? crypto.randomUUID() : checkId(opts.id);
    const input = serialize(args, `arguments of workflow ${name}`);
    const timeoutMs = checkMs(opts.timeoutMs, 'timeoutMs') ?? null;
    const [row] = await this.sql<{ name: string | null; created: boolean }[]>`
      select * from tableos.wf_enqueue(${id}, ${name}, ${input}, ${timeoutMs})`;
    if (row && !row.created && row.name !== name) {
      throw new WorkflowArgumentError(`workflow id ${id} is already used by a run of ${row.name}`);
    }
    return this.handle(id);
  }

  async list(opts: ListOptions = {}): Promise<WorkflowInfo[]> {
    if (opts.status !== undefined && !STATUSES.has(opts.status)) {
      throw new WorkflowArgumentError(
        `unknown status ${JSON.stringify(opts.status)}; use one of ${[...STATUSES].join(', ')}`,
      );
    }
    const limit = opts.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new WorkflowArgumentError('limit must be an integer from 1 to 10000');
    const offset = opts.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0)
      throw new WorkflowArgumentError('offset must be an integer >= 0');
    for (const d of [opts.since, opts.until]) {
      if (d !== undefined && (!(d instanceof Date) || Number.isNaN(d.getTime())))
        throw new WorkflowArgumentError('since/until must be valid Dates');
    }
    const rows = await this.sql<
      WorkflowRow[]
    >`select * from tableos.wf_list(${opts.status ?? null}, ${opts.name ?? null},
      ${opts.since ?? null}, ${opts.until ?? null}, ${limit}, ${offset})`;
    return rows.map(toInfo);
  }

  async get(id: string): Promise<WorkflowInfo> {
    return toInfo(await this.require(id));
  }

  async steps(id: string): Promise<CallInfo[]> {
    checkId(id);
    const rows = await runQuery(
      'tableos.wf_steps',
      [id],
      () => this.sql<CallRow[]>`select * from tableos.wf_steps(${id})`,
    );
    return rows.map(toCallInfo);
  }

  /** Cancels a run and its unfinished children; returns the ids cancelled (empty if it had finished). */
  async cancel(id: string): Promise<string[]> {
    checkId(id);
    const rows = await runQuery(
      'tableos.wf_cancel',
      [id, null, false],
      () => this.sql<{ wf_cancel: string }[]>`select * from tableos.wf_cancel(${id}, null, false)`,
    );
    return rows.map((r) => r.wf_cancel);
  }

  /** Makes a cancelled, failed or over-cap run pending again; a live executor with its code picks it up. */
  async resume(id: string): Promise<string[]> {
    checkId(id);
    const rows = await runQuery(
      'tableos.wf_resume',
      [id],
      () => this.sql<{ wf_resume: string }[]>`select * from tableos.wf_resume(${id})`,
    );
    return rows.map((r) => r.wf_resume);
  }

  /** Starts a copy of a run under a new id that replays its calls before position fromStep (default: all). */
  async fork(id: string, opts: { fromStep?: number; newId?: string } = {}): Promise<string> {
    checkId(id);
    const newId =
      opts.newId === undefined ? crypto.randomUUID() : checkId(opts.newId, 'new workflow id');
    const from = opts.fromStep ?? 2 ** 31 - 1;
    if (!Number.isInteger(from) || from < 0)
      throw new WorkflowArgumentError(`fromStep must be an integer >= 0, got ${from}`);
    await runQuery(
      'tableos.wf_fork',
      [id, from, newId],
      () => this.sql`select tableos.wf_fork(${id}, ${from}, ${newId})`,
    );
    return newId;
  }

  /** Deletes finished runs last changed more than olderThanMs ago, batchSize per transaction; returns how many. */
  async gc(opts: { olderThanMs: number; batchSize?: number }): Promise<number> {
    const older = checkMs(opts.olderThanMs, 'olderThanMs');
    if (older === undefined) throw new WorkflowArgumentError('gc needs olderThanMs');
    const batch = opts.batchSize ?? 1000;
    if (!Number.isInteger(batch) || batch < 1)
      throw new WorkflowArgumentError('batchSize must be an integer >= 1');
    let total = 0;
    for (;;) {
      const [row] = await this.sql<{ n: number }[]>`select tableos.wf_gc(${older}, ${batch}) as n`;
      const n = row?.n ?? 0;
      total += n;
      if (n < batch) return total;
    }
  }

  async require(id: string): Promise<WorkflowRow> {
    const [row] = await this.sql<WorkflowRow[]>`select * from tableos.workflow where id = ${id}`;
    if (row === undefined) throw new WorkflowNotFoundError(id);
    return row;
  }

  async close(): Promise<void> {
    if (this.ownsStatus) await this.status.close();
  }
}
