// The run loop: runs a workflow's code in its context, enforces its deadline, and records its
// end (the last checkpoints and the finish in one statement). Knows the runs going on here.
import type { Sql } from '../kernel/database.js';
import { DatabaseUnavailableError } from '../kernel/errors.js';
import { faultPoint } from '../kernel/fault.js';
import type { Logger } from '../kernel/logger.js';
import { runQuery } from '../kernel/query.js';
import { endSpan, startRunSpan } from '../kernel/tracing.js';
import { WorkflowContext } from './context.js';
import { currentRun } from './current.js';
import {
  RecordedError,
  WorkflowResultTimeoutError,
  WorkflowShutdownError,
  WorkflowTimeoutError,
} from './errors.js';
import type { AnyWorkflow } from './registry.js';
import { rowOutcome, type CallRow } from './rows.js';
import type { Runtime } from './runtime.js';
import { serialize, serializeError } from './serialize.js';
import type { CommitItem, CommitResult, DeferredStart, FinishRecord, Store } from './store.js';
import type { Outcome } from './types.js';

export interface Running {
  ctx: WorkflowContext;
  promise: Promise<Outcome>;
}

export interface RunnerDeps {
  rt: Runtime;
  sql: Sql;
  store: Store;
  log: Logger;
  /** Waits for a run's recorded outcome wherever it runs. */
  recordedOutcome(id: string): Promise<Outcome>;
  /** Resume this executor's own pending runs once the database answers again. */
  adoptOwn(): void;
}

export class Runner {
  private readonly running = new Map<string, Running>();

  constructor(private readonly d: RunnerDeps) {}

  get(id: string): Running | undefined {
    return this.running.get(id);
  }

  has(id: string): boolean {
    return this.running.has(id);
  }

  ids(): string[] {
    return [...this.running.keys()];
  }

  /** Starts running a workflow here, from its recorded calls; deferredStart travels with its first checkpoint. */
  launch(
    def: AnyWorkflow,
    id: string,
    args: unknown[],
    recorded: Map<number, CallRow>,
    deadline: Date | null,
    deferredStart?: DeferredStart,
    /** The trace context stored with the run, for a run started elsewhere. */
    traceContext?: string | null,
  ): Running {
    const traced = startRunSpan(def.name, id, traceContext);
    const ctx = new WorkflowContext(this.d.rt, id, def.name, recorded, traced.ctx);
    if (deferredStart) ctx.deferStart(deferredStart);
    const metrics = this.d.rt.metrics;
    metrics.workflowsStarted.inc();
    const promise = this.execute(def, ctx, args, deadline);
    void promise.then(
      (o) => {
        metrics.workflowsFinished.inc({ status: o.status });
        endSpan(traced.span, o.status === 'success' ? undefined : o.error, o.status);
      },
      (err: unknown) => endSpan(traced.span, err),
    );
    const r = { ctx, promise };
    this.running.set(id, r);
    promise
      .catch((err: unknown) =>
        this.d.log.error({ err, workflow: id }, 'workflow run failed to record its end'),
      )
      .finally(() => {
        if (this.running.get(id) === r) this.running.delete(id);
        // Built only when needed: an error's stack trace costs more than the rest of this.
        if (ctx.startPending)
          ctx.startWritten(new WorkflowShutdownError(`run ${id} ended before it was recorded`));
      })
      .catch(() => undefined);
    return r;
  }

  /** The outcome of a run going on here, given up after timeoutMs; undefined if it is not here. */
  localOutcome(id: string, timeoutMs?: number): Promise<Outcome> | undefined {
    const local = this.running.get(id);
    if (local === undefined) return undefined;
    if (timeoutMs === undefined) return local.promise;
    let t: NodeJS.Timeout | undefined;
    return Promise.race([
      local.promise,
      new Promise<never>(
        (_, rej) =>
          (t = setTimeout(() => rej(new WorkflowResultTimeoutError(id, timeoutMs)), timeoutMs)),
      ),
    ]).finally(() => clearTimeout(t));
  }

  /** Stops a run going on here at its next call or wait. */
  stop(id: string, err: Error): void {
    this.running.get(id)?.ctx.stop(err);
  }

  /** Stops every run here and waits for them to end, up to waitMs (a step in user code is not waited for long). */
  async stopAll(err: Error, waitMs: number): Promise<void> {
    for (const r of this.running.values()) r.ctx.stop(err);
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()].map((r) => r.promise)),
      new Promise((r) => (t = setTimeout(r, waitMs))),
    ]);
    clearTimeout(t);
  }

  private async execute(
    def: AnyWorkflow,
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
      value = await currentRun.run(ctx, () => def.fn(ctx, ...(args as never[])));
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
    if (ctx.superseded) return this.d.recordedOutcome(id);
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
      results = await Promise.all(items.map((it) => this.d.store.commits.push(it)));
    } catch (err) {
      ctx.startWritten(err);
      if (err instanceof DatabaseUnavailableError) return this.leavePending(ctx, err);
      throw err;
    }
    ctx.startWritten();
    faultPoint('workflows:finish-committed');
    // Another run recorded a different result at one of these positions: this run's finish
    // was refused, and that run's outcome is the one that counts.
    if (diverged(items, results)) return this.d.recordedOutcome(id);
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
    this.d.log.warn({ workflow: id, err: err.message }, 'database unreachable; run left pending');
    if (this.running.get(id)?.ctx === ctx) this.running.delete(id);
    this.d.adoptOwn();
    return this.d.recordedOutcome(id);
  }

  private expire(ctx: WorkflowContext): Promise<void> {
    // Stopped here first, so the cancellation notice that follows does not relabel it.
    ctx.stop(new WorkflowTimeoutError(ctx.workflowId));
    const id = ctx.workflowId;
    return runQuery(
      'tableos.wf_cancel',
      [id, null, true],
      () => this.d.sql`select tableos.wf_cancel(${id}, null, true)`,
    )
      .then(() => undefined)
      .catch((err: unknown) =>
        this.d.log.warn({ err, workflow: id }, 'could not cancel a workflow past its deadline'),
      );
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
