// The workflow service of one TableOS node: registers code, starts and runs workflows,
// and takes over the workflows of executors that died.
import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import { ClosedError, DatabaseUnavailableError } from '../kernel/errors.js';
import type { Kernel } from '../kernel/kernel.js';
import { runQuery } from '../kernel/query.js';
import { WorkflowAdmin, WorkflowHandle, type WaitOptions } from './admin.js';
import { WorkflowContext } from './context.js';
import {
  WorkflowNotExecutorError,
  NotInWorkflowError,
  WorkflowResultTimeoutError,
  UnknownWorkflowError,
  WorkflowCancelledError,
  WorkflowConflictError,
  WorkflowNotFoundError,
  WorkflowShutdownError,
  WorkflowTimeoutError,
  RecordedError,
} from './errors.js';
import { faultPoint } from '../kernel/fault.js';
import type { CallRow } from './rows.js';
import { rowOutcome } from './rows.js';
import type { ChildStart, Runtime } from './runtime.js';
import { Takeover, loadCalls } from './takeover.js';
import { deserialize, serialize, serializeError } from './serialize.js';
import {
  Store,
  type CommitItem,
  type CommitResult,
  type DeferredStart,
  type FinishRecord,
} from './store.js';
import {
  TERMINAL,
  type Outcome,
  type ProcedureDef,
  type ProcedureFn,
  type ProcedureOptions,
  type StartOptions,
  type StepDef,
  type StepFn,
  type StepOptions,
  type WorkflowDef,
  type WorkflowFn,
  type WorkflowOptions,
} from './types.js';
import { checkArgs, checkFn, checkId, checkMs, checkName } from './validate.js';

export interface WorkflowsOptions {
  /** Slow fallback poll for takeover and blocking waits, in ms (default 3000). */
  pollMs?: number;
  /** Statements of the group commit in flight at once (default: pool size - 2, at least 2). */
  maxInFlight?: number;
}

export interface Procedure<A extends unknown[], R> extends ProcedureDef<A, R> {
  /** Inside a workflow: ctx.call(this, ...args). Outside: runs it as a plain transaction. */
  run(...args: A): Promise<R>;
}
export interface Step<A extends unknown[], R> extends StepDef<A, R> {
  /** Only inside a workflow: ctx.call(this, ...args). */
  run(...args: A): Promise<R>;
}
export interface Workflow<A extends unknown[], R> extends WorkflowDef<A, R> {
  start(args: A, opts?: StartOptions): Promise<WorkflowHandle<R>>;
  /** Starts and waits for the result. */
  run(...args: A): Promise<R>;
}

interface Running {
  ctx: WorkflowContext;
  promise: Promise<Outcome>;
}

const als = new AsyncLocalStorage<WorkflowContext>();

/** The context of the workflow this code runs in, if any. */
export function currentWorkflowContext(): WorkflowContext | undefined {
  return als.getStore();
}

export class Workflows extends WorkflowAdmin implements Runtime {
  readonly store: Store;
  private readonly defs = new Map<string, WorkflowDef<never[], unknown>>();
  private readonly names = new Set<string>();
  private readonly running = new Map<string, Running>();
  private closed = false;
  private readonly takeover: Takeover;

  constructor(
    private readonly kernel: Kernel,
    opts: WorkflowsOptions = {},
  ) {
    super(kernel.sql, kernel.logger('workflows'), kernel.notifier, {
      pollMs: opts.pollMs ?? 3000,
      retrying: (what, op) => kernel.retrying(what, op),
    });
    const inFlight = opts.maxInFlight ?? Math.max(2, kernel.config.poolSize - 2);
    this.store = new Store(kernel.sql, () => this.kernel.executorId ?? null, {
      maxInFlight: inFlight,
      maxBatch: 500,
      retry: (what, op) => kernel.retrying(what, op),
    });
    this.takeover = new Takeover({
      sql: kernel.sql,
      notifier: this.notifier,
      log: this.log,
      pollMs: this.pollMs,
      executorId: () => this.executorId,
      names: () => [...this.defs.keys()],
      isRunning: (id) => this.running.has(id),
      resume: (run, calls) => {
        const def = this.defs.get(run.name);
        if (def && !this.running.has(run.id)) {
          this.launch(def, run.id, deserialize(run.input) as unknown[], calls, run.deadline);
        }
      },
    });
    // Re-registered under a new id after losing the lease: re-claim this node's own runs
    // (still going here) before another executor does.
    kernel.executor?.on('lost', () => this.takeover.schedule(null));
  }

  private get executorId(): string | undefined {
    return this.kernel.executorId;
  }

  retrying<T>(what: string, op: () => Promise<T>): Promise<T> {
    return this.kernel.retrying(what, op);
  }

  procedure<A extends unknown[], R>(
    name: string,
    fn: ProcedureFn<A, R>,
    options: ProcedureOptions = {},
  ): Procedure<A, R> {
    this.claimName(name, 'procedure', fn);
    const p: Procedure<A, R> = {
      kind: 'procedure',
      name,
      fn,
      options,
      run: async (...args: A) => {
        const ctx = als.getStore();
        if (ctx) return ctx.call(p, ...args);
        return (await this.sql.begin(
          `isolation level ${options.isolation ?? 'read committed'}`,
          (tx) => fn(tx, ...args),
        )) as R;
      },
    };
    return p;
  }

  step<A extends unknown[], R>(
    name: string,
    fn: StepFn<A, R>,
    options: StepOptions = {},
  ): Step<A, R> {
    this.claimName(name, 'step', fn);
    const s: Step<A, R> = {
      kind: 'step',
      name,
      fn,
      options,
      run: (...args: A) => {
        const ctx = als.getStore();
        if (!ctx) return Promise.reject(new NotInWorkflowError(`step ${name}`));
        return ctx.call(s, ...args);
      },
    };
    return s;
  }

  workflow<A extends unknown[], R>(
    name: string,
    fn: WorkflowFn<A, R>,
    options: WorkflowOptions = {},
  ): Workflow<A, R> {
    this.claimName(name, 'workflow', fn);
    checkMs(options.timeoutMs, 'timeoutMs');
    const w: Workflow<A, R> = {
      kind: 'workflow',
      name,
      fn,
      options,
      start: (args: A, opts?: StartOptions) => this.start(w, args, opts),
      run: async (...args: A) => (await this.start(w, args)).result(),
    };
    this.defs.set(name, w as unknown as WorkflowDef<never[], unknown>);
    if (this.executorId !== undefined) {
      this.ensureStatusListener().catch((err: unknown) =>
        this.log.warn({ err }, 'cannot listen for workflow status'),
      );
      this.takeover.start();
    }
    this.takeover.schedule(null);
    return w;
  }

  private claimName(name: string, what: string, fn: unknown): void {
    checkName(name, what);
    checkFn(fn, `${what} ${name}`);
    if (this.names.has(name))
      throw new WorkflowConflictError(
        `a procedure, step or workflow named ${name} is already registered`,
      );
    this.names.add(name);
  }

  /** Starts a run (or returns the existing run with that id); resolves once the start is durable. */
  async start<A extends unknown[], R>(
    wf: WorkflowDef<A, R> | string,
    args: A,
    opts: StartOptions = {},
  ): Promise<WorkflowHandle<R>> {
    const def =
      typeof wf === 'string' ? this.defs.get(wf) : (wf as unknown as WorkflowDef<never[], unknown>);
    if (def === undefined || this.defs.get(def.name) !== def)
      throw new UnknownWorkflowError(typeof wf === 'string' ? wf : String(wf?.name));
    const id = opts.id === undefined ? crypto.randomUUID() : checkId(opts.id);
    await this.startRow(
      def,
      args,
      id,
      opts.timeoutMs ?? def.options.timeoutMs,
      opts.enqueue === true,
      null,
      null,
      opts.id === undefined,
    );
    return new WorkflowHandle<R>(this, id);
  }

  async startChild(
    wf: WorkflowDef<never[], unknown>,
    args: unknown[],
    o: ChildStart,
  ): Promise<void> {
    if (this.defs.get(wf.name) !== wf) throw new UnknownWorkflowError(wf.name);
    await this.startRow(
      wf,
      args,
      checkId(o.id, 'child workflow id'),
      o.timeoutMs ?? wf.options.timeoutMs,
      false,
      o.parent,
      o.parentSeq,
    );
  }

  private async startRow(
    def: WorkflowDef<never[], unknown>,
    args: unknown,
    id: string,
    timeoutMs: number | undefined,
    enqueue: boolean,
    parent: string | null,
    parentSeq: number | null,
    generatedId = false,
  ): Promise<void> {
    if (this.closed) throw new ClosedError('the workflow service is closed');
    const list = checkArgs(args, Math.max(0, def.fn.length - 1), `workflow ${def.name}`);
    checkMs(timeoutMs, 'timeoutMs');
    const input = serialize(list, `arguments of workflow ${def.name}`);
    if (!enqueue && this.executorId === undefined)
      throw new WorkflowNotExecutorError(`running workflow ${def.name}`);
    if (this.running.has(id)) return;
    const maxRecovery = def.options.maxRecoveryAttempts ?? 10;
    if (generatedId && !enqueue && parent === null && timeoutMs === undefined) {
      // A fresh random id cannot collide, so the run may begin at once and its row is
      // written with its first checkpoint; start() still returns only once it is durable.
      const r = this.launch(def, id, list, new Map<number, CallRow>(), null, {
        id,
        name: def.name,
        input,
        maxRecovery,
      });
      await r.ctx.startCommitted;
      return;
    }
    const row = await this.store.starts.push({
      id,
      name: def.name,
      input,
      status: enqueue ? 'enqueued' : 'pending',
      parent,
      parentSeq,
      timeoutMs: timeoutMs ?? null,
      maxRecovery,
    });
    if (!row.created && row.name !== def.name) {
      throw new WorkflowConflictError(
        `workflow id ${id} is already used by a run of ${row.name}, not ${def.name}`,
      );
    }
    faultPoint('workflows:start-committed');
    if (enqueue || this.running.has(id)) return;
    if (row.created) {
      this.launch(def, id, list, new Map<number, CallRow>(), row.deadline);
    } else if (row.status === 'pending' && row.executor_id === this.executorId) {
      // This executor's own run that is not running here: the start's first attempt
      // committed and its answer was lost with the connection. Run it from its history.
      const calls = await this.retrying('tableos.workflow_call', () => loadCalls(this.sql, [id]));
      if (!this.running.has(id))
        this.launch(def, id, list, calls.get(id) ?? new Map<number, CallRow>(), row.deadline);
    }
  }

  /**
   * Runs (or resumes) one workflow by id in this process: an enqueued one, or a pending one
   * whose executor is gone. The entry point of a dispatcher. Resolves with how it ended.
   */
  async executeById(id: string): Promise<Outcome> {
    checkId(id);
    const me = this.executorId;
    if (me === undefined) throw new WorkflowNotExecutorError('executeById');
    const local = this.running.get(id);
    if (local) return local.promise;
    const known = await this.require(id);
    if (!this.defs.has(known.name)) throw new UnknownWorkflowError(known.name);
    const [row] = await this.sql<
      {
        id: string;
        name: string;
        status: string;
        input: string | null;
        deadline: Date | null;
        executor_id: string | null;
      }[]
    >`
      select * from tableos.wf_take(${id}, ${me})`;
    if (row === undefined) throw new WorkflowNotFoundError(id);
    if (TERMINAL.has(row.status)) return rowOutcome(await this.require(id));
    if (row.executor_id !== me || row.status !== 'pending') return this.waitOutcome(id);
    const def = this.defs.get(row.name);
    if (def === undefined) throw new UnknownWorkflowError(row.name);
    const calls = await loadCalls(this.sql, [id]);
    return (
      this.running.get(id)?.promise ??
      this.launch(
        def,
        id,
        deserialize(row.input) as unknown[],
        calls.get(id) ?? new Map<number, CallRow>(),
        row.deadline,
      ).promise
    );
  }

  override async waitOutcome(id: string, opts: WaitOptions = {}): Promise<Outcome> {
    const local = this.running.get(id);
    if (local === undefined) return super.waitOutcome(id, opts);
    if (opts.timeoutMs === undefined) return local.promise;
    let t: NodeJS.Timeout | undefined;
    return Promise.race([
      local.promise,
      new Promise<never>(
        (_, rej) =>
          (t = setTimeout(
            () => rej(new WorkflowResultTimeoutError(id, opts.timeoutMs ?? 0)),
            opts.timeoutMs,
          )),
      ),
    ]).finally(() => clearTimeout(t));
  }

  outcome(id: string): Promise<Outcome> {
    return this.running.get(id)?.promise ?? super.waitOutcome(id);
  }

  private launch(
    def: WorkflowDef<never[], unknown>,
    id: string,
    args: unknown[],
    recorded: Map<number, CallRow>,
    deadline: Date | null,
    deferredStart?: DeferredStart,
  ): Running {
    const ctx = new WorkflowContext(this, id, def.name, recorded);
    if (deferredStart) ctx.deferStart(deferredStart);
    const promise = this.execute(def, ctx, args, deadline);
    const r = { ctx, promise };
    this.running.set(id, r);
    promise
      .catch((err: unknown) =>
        this.log.error({ err, workflow: id }, 'workflow run failed to record its end'),
      )
      .finally(() => {
        if (this.running.get(id) === r) this.running.delete(id);
        ctx.startWritten(new WorkflowShutdownError(`run ${id} ended before it was recorded`));
      })
      .catch(() => undefined);
    return r;
  }

  private async execute(
    def: WorkflowDef<never[], unknown>,
    ctx: WorkflowContext,
    args: unknown[],
    deadline: Date | null,
  ): Promise<Outcome> {
    const id = ctx.workflowId;
    let timer: NodeJS.Timeout | undefined;
    let expiring: Promise<void> | undefined;
    if (deadline !== null) {
      timer = setTimeout(
        () => {
          expiring = this.expire(ctx);
        },
        Math.min(Math.max(0, deadline.getTime() - Date.now()), 2 ** 31 - 1),
      );
    }
    let value: unknown;
    let error: unknown;
    let failed = false;
    try {
      value = await als.run(ctx, () => def.fn(ctx, ...(args as never[])));
    } catch (err) {
      failed = true;
      error = err;
    } finally {
      clearTimeout(timer);
    }
    if (expiring) await expiring;
    await ctx.settle();
    if (ctx.databaseLost) return this.leavePending(ctx, ctx.databaseLost);
    if (ctx.stopError) return { status: 'cancelled', error: ctx.stopError };
    if (ctx.superseded) return super.waitOutcome(id);
    if (ctx.fatal) {
      failed = true;
      error = ctx.fatal;
    }
    let fin: FinishRecord | undefined;
    if (!failed) {
      try {
        fin = {
          id,
          status: 'success',
          output: serialize(value, `result of workflow ${def.name}`),
          error: null,
        };
      } catch (err) {
        failed = true;
        error = err;
      }
    }
    if (failed) fin = { id, status: 'error', output: null, error: serializeError(error) };
    faultPoint('workflows:finish-before-commit');
    // The last checkpoints and the finish travel in one statement.
    const start = ctx.takeDeferredStart();
    const items: CommitItem[] = [
      ...(start ? [{ start }] : []),
      ...ctx.takePending().map((call) => ({ call })),
      { finish: fin as FinishRecord },
    ];
    let results: CommitResult[];
    try {
      results = await Promise.all(items.map((it) => this.store.commits.push(it)));
    } catch (err) {
      ctx.startWritten(err);
      if (err instanceof DatabaseUnavailableError) return this.leavePending(ctx, err);
      throw err;
    }
    ctx.startWritten();
    faultPoint('workflows:finish-committed');
    // Another run recorded a different result at one of these positions: this run's finish
    // was refused, and that run's outcome is the one that counts.
    if (diverged(items, results)) return super.waitOutcome(id);
    const after = results[results.length - 1];
    if (after?.status && after.status !== fin?.status)
      return rowOutcome({ status: after.status, output: after.output, error: after.error });
    if (failed)
      return {
        status: 'error',
        error: error instanceof Error ? error : new RecordedError(String(error)),
      };
    return { status: 'success', value };
  }

  /**
   * The database stayed unreachable past the reconnect deadline: the run ends here without
   * recording anything (it did not fail), stays pending, and this executor resumes it from
   * its history once the database answers again. The caller's wait follows the database.
   */
  private leavePending(ctx: WorkflowContext, err: DatabaseUnavailableError): Promise<Outcome> {
    const id = ctx.workflowId;
    this.log.warn({ workflow: id, err: err.message }, 'database unreachable; run left pending');
    if (this.running.get(id)?.ctx === ctx) this.running.delete(id);
    this.takeover.adoptOwn();
    return super.waitOutcome(id);
  }

  private expire(ctx: WorkflowContext): Promise<void> {
    // Stopped here first, so the cancellation notice that follows does not relabel it.
    ctx.stop(new WorkflowTimeoutError(ctx.workflowId));
    const id = ctx.workflowId;
    return runQuery(
      'tableos.wf_cancel',
      [id, null, true],
      () => this.sql`select tableos.wf_cancel(${id}, null, true)`,
    )
      .then(() => undefined)
      .catch((err: unknown) =>
        this.log.warn(
          { err, workflow: ctx.workflowId },
          'could not cancel a workflow past its deadline',
        ),
      );
  }

  protected override onStatus(status: string, id: string): void {
    super.onStatus(status, id);
    if (status === 'cancelled') this.running.get(id)?.ctx.stop(new WorkflowCancelledError(id));
    else if (status === 'pending' && this.defs.size > 0) this.takeover.schedule([id]);
  }

  /** Stops taking work; runs still going stay pending in the database for another executor. */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stoppingTakeover = this.takeover.stop();
    const stopping = new WorkflowShutdownError(
      'this executor is shutting down; the run continues elsewhere',
    );
    for (const r of this.running.values()) r.ctx.stop(stopping);
    // Runs stop at their next call; a step still in user code is not waited for long.
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()].map((r) => r.promise)),
      new Promise((r) => (t = setTimeout(r, 2000))),
    ]);
    clearTimeout(t);
    await stoppingTakeover;
    await super.close();
  }
}

function diverged(items: CommitItem[], results: CommitResult[]): boolean {
  return items.some((it, i) => {
    const r = results[i];
    if (r === undefined || !('call' in it)) return false;
    const c = it.call;
    return r.kind !== c.kind || r.name !== c.name || r.output !== c.output || r.error !== c.error;
  });
}
