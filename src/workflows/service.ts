// The workflow service of one TableOS node: the registry of code, the ways runs start, the
// run loop, takeover of dead executors' runs, and management (WorkflowAdmin), composed.
// The status subscription is owned here and shared with the admin.
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import type { Notifier } from '../kernel/notifier.js';
import type { Sql } from '../kernel/database.js';
import {
  WorkflowAdmin,
  type ListOptions,
  type RunObserver,
  type WaitOptions,
  WorkflowHandle,
} from './admin.js';
import { WorkflowCancelledError, WorkflowShutdownError } from './errors.js';
import {
  Registry,
  type RegisteredFunction,
  type AnyWorkflow,
  type Procedure,
  type Step,
  type Workflow,
} from './registry.js';
import type { CallInfo, WorkflowInfo, WorkflowRow } from './rows.js';
import { Runner } from './runner.js';
import type { ChildStart, Runtime } from './runtime.js';
import { deserialize } from './serialize.js';
import { Starter } from './starter.js';
import { StatusFeed } from './status-feed.js';
import { Store } from './store.js';
import { Takeover } from './takeover.js';
import { moveVersion, strandedRuns, type StrandedRun } from './versions.js';
import type {
  Outcome,
  ProcedureFn,
  ProcedureOptions,
  StartOptions,
  StepFn,
  StepOptions,
  WorkflowDef,
  WorkflowFn,
  WorkflowOptions,
} from './types.js';
import { checkId } from './validate.js';

export { currentWorkflowContext } from './current.js';
export type { Procedure, Step, Workflow } from './registry.js';

export interface WorkflowsOptions {
  /** Slow fallback poll for takeover and blocking waits, in ms (default 3000). */
  pollMs?: number;
  /** Statements of the group commit in flight at once (default: pool size - 2, at least 2). */
  maxInFlight?: number;
}

export class Workflows implements Runtime, RunObserver {
  readonly sql: Sql;
  readonly log: Logger;
  readonly notifier: Notifier;
  readonly pollMs: number;
  readonly store: Store;
  readonly metrics: Metrics;
  private readonly status: StatusFeed;
  private readonly admin: WorkflowAdmin;
  private readonly registry: Registry;
  private readonly runner: Runner;
  private readonly starter: Starter;
  private readonly takeover: Takeover;
  private closed = false;

  constructor(
    private readonly kernel: Kernel,
    opts: WorkflowsOptions = {},
  ) {
    this.sql = kernel.sql;
    this.log = kernel.logger('workflows');
    this.notifier = kernel.notifier;
    this.pollMs = opts.pollMs ?? 3000;
    this.metrics = kernel.metrics;
    const retrying = <T>(what: string, op: () => Promise<T>) => kernel.retrying(what, op);
    this.status = new StatusFeed(this.notifier);
    this.admin = new WorkflowAdmin(this.sql, this.log, this.notifier, {
      pollMs: this.pollMs,
      retrying,
      status: this.status,
    });
    this.store = new Store(this.sql, () => kernel.executorId ?? null, {
      maxInFlight: opts.maxInFlight ?? Math.max(2, kernel.config.poolSize - 2),
      maxBatch: 500,
      retry: retrying,
    });
    this.registry = new Registry({
      sql: this.sql,
      start: (wf, args, o) => this.starter.start(wf, args, o),
      registered: () => this.registered(),
    });
    this.runner = new Runner({
      rt: this,
      sql: this.sql,
      store: this.store,
      log: this.log,
      recordedOutcome: (id) => this.admin.waitOutcome(id),
      adoptOwn: () => this.takeover.adoptOwn(),
    });
    this.starter = new Starter({
      sql: this.sql,
      store: this.store,
      registry: this.registry,
      runner: this.runner,
      observer: this,
      executorId: () => kernel.executorId,
      closed: () => this.closed,
      retrying,
    });
    this.takeover = new Takeover({
      sql: this.sql,
      notifier: this.notifier,
      log: this.log,
      pollMs: this.pollMs,
      executorId: () => kernel.executorId,
      names: () => this.registry.workflowNames(),
      isRunning: (id) => this.runner.has(id),
      running: () => this.runner.ids(),
      resume: (run, calls) => {
        const def = this.registry.get(run.name);
        if (def && !this.runner.has(run.id)) {
          this.runner.launch(
            def,
            run.id,
            deserialize(run.input) as unknown[],
            calls,
            run.deadline,
            undefined,
            run.trace_context,
          );
        }
      },
    });
    this.status.onEvery((status, id) => {
      if (status === 'cancelled') this.runner.stop(id, new WorkflowCancelledError(id));
      else if (status === 'pending' && this.registry.size > 0) this.takeover.schedule([id]);
    });
    // Re-registered under a new id after losing the lease: re-claim this node's own runs
    // (still going here) before another executor does.
    kernel.executor?.on('lost', () => this.takeover.schedule(null));
  }

  retrying<T>(what: string, op: () => Promise<T>): Promise<T> {
    return this.kernel.retrying(what, op);
  }

  procedure<A extends unknown[], R>(
    name: string,
    fn: ProcedureFn<A, R>,
    options: ProcedureOptions = {},
  ): Procedure<A, R> {
    return this.registry.procedure(name, fn, options);
  }

  step<A extends unknown[], R>(
    name: string,
    fn: StepFn<A, R>,
    options: StepOptions = {},
  ): Step<A, R> {
    return this.registry.step(name, fn, options);
  }

  workflow<A extends unknown[], R>(
    name: string,
    fn: WorkflowFn<A, R>,
    options: WorkflowOptions = {},
  ): Workflow<A, R> {
    return this.registry.workflow(name, fn, options);
  }

  /** Starts a run (or returns the existing run with that id); resolves once the start is durable. */
  start<A extends unknown[], R>(
    wf: WorkflowDef<A, R> | string,
    args: A,
    opts: StartOptions = {},
  ): Promise<WorkflowHandle<R>> {
    return this.starter.start(wf, args, opts);
  }

  startChild(wf: AnyWorkflow, args: unknown[], o: ChildStart): Promise<void> {
    return this.starter.startChild(wf, args, o);
  }

  /**
   * Runs (or resumes) one workflow by id in this process: an enqueued one, or a pending one
   * whose executor is gone. The entry point of a dispatcher. Resolves with how it ended.
   */
  executeById(id: string): Promise<Outcome> {
    return this.starter.executeById(id);
  }

  /** Waits until the workflow is finished; a run going on here is answered by the run itself. */
  waitOutcome(id: string, opts: WaitOptions = {}): Promise<Outcome> {
    return this.runner.localOutcome(id, opts.timeoutMs) ?? this.admin.waitOutcome(id, opts);
  }

  outcome(id: string): Promise<Outcome> {
    return this.runner.get(id)?.promise ?? this.admin.waitOutcome(id);
  }

  handle<R = unknown>(id: string): WorkflowHandle<R> {
    return new WorkflowHandle<R>(this, checkId(id));
  }

  readEvent(workflowId: string, key: string): Promise<{ found: boolean; value: unknown }> {
    return this.admin.readEvent(workflowId, key);
  }

  /** Reads an event of a workflow, waiting up to timeoutMs (default 0) for it to be set; undefined if it never was. */
  getEvent<T = unknown>(
    workflowId: string,
    key: string,
    opts: WaitOptions = {},
  ): Promise<T | undefined> {
    return this.admin.getEvent<T>(workflowId, key, opts);
  }

  /** Creates an enqueued run of a workflow by name, for an executor that has its code to run. */
  async enqueue(
    name: string,
    args: unknown[],
    opts: { id?: string; timeoutMs?: number } = {},
  ): Promise<WorkflowHandle> {
    return this.handle((await this.admin.enqueue(name, args, opts)).workflowId);
  }

  list(opts: ListOptions = {}): Promise<WorkflowInfo[]> {
    return this.admin.list(opts);
  }

  get(id: string): Promise<WorkflowInfo> {
    return this.admin.get(id);
  }

  steps(id: string): Promise<CallInfo[]> {
    return this.admin.steps(id);
  }

  /** Cancels a run and its unfinished children; returns the ids cancelled (empty if it had finished). */
  cancel(id: string): Promise<string[]> {
    return this.admin.cancel(id);
  }

  /** Makes a cancelled, failed or over-cap run pending again; a live executor with its code picks it up. */
  resume(id: string): Promise<string[]> {
    return this.admin.resume(id);
  }

  /** Pending runs whose app version runs on no live executor (see tableos wf list --stranded). */
  stranded(opts: { limit?: number } = {}): Promise<StrandedRun[]> {
    return strandedRuns(this.sql, opts);
  }

  /** Moves a stranded or stopped run to another deployed version of its app; returns the old version. */
  moveVersion(id: string, version: string): Promise<string> {
    return this.retrying('tableos.wf_move_version', () => moveVersion(this.sql, id, version));
  }

  /** The procedures, steps and workflows registered in this process, in registration order. */
  functions(): readonly RegisteredFunction[] {
    return this.registry.functions();
  }

  /** Starts a copy of a run under a new id that replays its calls before position fromStep (default: all). */
  fork(id: string, opts: { fromStep?: number; newId?: string } = {}): Promise<string> {
    return this.admin.fork(id, opts);
  }

  /** Deletes finished runs last changed more than olderThanMs ago, batchSize per transaction; returns how many. */
  gc(opts: { olderThanMs: number; batchSize?: number }): Promise<number> {
    return this.admin.gc(opts);
  }

  require(id: string): Promise<WorkflowRow> {
    return this.admin.require(id);
  }

  /** Stops taking work; runs still going stay pending in the database for another executor. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stoppingTakeover = this.takeover.stop();
    await this.runner.stopAll(
      new WorkflowShutdownError('this executor is shutting down; the run continues elsewhere'),
      2000,
    );
    await stoppingTakeover;
    await this.admin.close();
    await this.status.close();
  }

  private registered(): void {
    if (this.kernel.executorId !== undefined) {
      this.status
        .listen()
        .catch((err: unknown) => this.log.warn({ err }, 'cannot listen for workflow status'));
      this.takeover.start();
    }
    this.takeover.schedule(null);
  }
}
