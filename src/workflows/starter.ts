// The ways a run begins here: start (with an idempotency id, or a generated one whose row
// travels with the first checkpoint), a child's start, and executeById, the dispatcher's
// entry, which takes a run with its recorded calls in one statement.
import crypto from 'node:crypto';
import type { Sql } from '../kernel/database.js';
import { ClosedError } from '../kernel/errors.js';
import { faultPoint } from '../kernel/fault.js';
import { queryRows } from '../kernel/query.js';
import { startTraceContext } from '../kernel/tracing.js';
import { WorkflowHandle, type RunObserver } from './admin.js';
import {
  UnknownWorkflowError,
  WorkflowConflictError,
  WorkflowNotExecutorError,
  WorkflowNotFoundError,
} from './errors.js';
import type { AnyWorkflow, Registry } from './registry.js';
import { callsFromJson, rowOutcome, type CallRow } from './rows.js';
import type { Runner } from './runner.js';
import type { ChildStart } from './runtime.js';
import { deserialize, serialize } from './serialize.js';
import type { Store } from './store.js';
import { TERMINAL, type Outcome, type StartOptions, type WorkflowDef } from './types.js';
import { checkArgs, checkId, checkMs } from './validate.js';

export interface StarterDeps {
  sql: Sql;
  store: Store;
  registry: Registry;
  runner: Runner;
  /** Handles ask here (the service: a run going on here is answered locally). */
  observer: RunObserver;
  executorId(): string | undefined;
  closed(): boolean;
  retrying<T>(what: string, op: () => Promise<T>): Promise<T>;
}

/** A run as tableos.wf_take_run returns it: taken = this executor is to run it now. */
interface TakenRow {
  id: string;
  name: string;
  status: string;
  input: string | null;
  output: string | null;
  error: string | null;
  deadline: Date | null;
  executor_id: string | null;
  taken: boolean;
  calls: unknown;
  trace_context: string | null;
}

const TAKE_SQL = 'select * from tableos.wf_take_run($1::text, $2::text, $3::text[])';

export class Starter {
  constructor(private readonly d: StarterDeps) {}

  /** Starts a run (or returns the existing run with that id); resolves once the start is durable. */
  async start<A extends unknown[], R>(
    wf: WorkflowDef<A, R> | string,
    args: A,
    opts: StartOptions = {},
  ): Promise<WorkflowHandle<R>> {
    const def = (typeof wf === 'string' ? this.d.registry.get(wf) : wf) as AnyWorkflow | undefined;
    if (def === undefined || !this.d.registry.owns(def))
      throw new UnknownWorkflowError(typeof wf === 'string' ? wf : String(def?.name));
    const id = opts.id === undefined ? crypto.randomUUID() : checkId(opts.id);
    await this.startRow(def, args, id, {
      timeoutMs: opts.timeoutMs ?? def.options.timeoutMs,
      enqueue: opts.enqueue === true,
      generatedId: opts.id === undefined,
    });
    return new WorkflowHandle<R>(this.d.observer, id);
  }

  async startChild(wf: AnyWorkflow, args: unknown[], o: ChildStart): Promise<void> {
    if (!this.d.registry.owns(wf)) throw new UnknownWorkflowError(wf.name);
    await this.startRow(wf, args, checkId(o.id, 'child workflow id'), {
      timeoutMs: o.timeoutMs ?? wf.options.timeoutMs,
      parent: o.parent,
      parentSeq: o.parentSeq,
    });
  }

  /**
   * Runs (or resumes) one workflow by id in this process: an enqueued one, or a pending one
   * whose executor is gone. The entry point of a dispatcher. Resolves with how it ended.
   */
  async executeById(id: string): Promise<Outcome> {
    checkId(id);
    const me = this.d.executorId();
    if (me === undefined) throw new WorkflowNotExecutorError('executeById');
    const local = this.d.runner.get(id);
    if (local) return local.promise;
    const row = await this.take(id, me);
    if (row === undefined) throw new WorkflowNotFoundError(id);
    const def = this.d.registry.get(row.name);
    if (def === undefined) throw new UnknownWorkflowError(row.name);
    if (TERMINAL.has(row.status)) return rowOutcome(row);
    if (!row.taken) return this.d.observer.waitOutcome(id);
    return this.d.runner.get(id)?.promise ?? this.launchTaken(def, row).promise;
  }

  private async startRow(
    def: AnyWorkflow,
    args: unknown,
    id: string,
    o: {
      timeoutMs: number | undefined;
      enqueue?: boolean;
      parent?: string;
      parentSeq?: number;
      generatedId?: boolean;
    },
  ): Promise<void> {
    if (this.d.closed()) throw new ClosedError('the workflow service is closed');
    const list = checkArgs(args, Math.max(0, def.fn.length - 1), `workflow ${def.name}`);
    checkMs(o.timeoutMs, 'timeoutMs');
    const input = serialize(list, `arguments of workflow ${def.name}`);
    const enqueue = o.enqueue === true;
    const me = this.d.executorId();
    if (!enqueue && me === undefined)
      throw new WorkflowNotExecutorError(`running workflow ${def.name}`);
    const runner = this.d.runner;
    if (runner.has(id)) return;
    const maxRecovery = def.options.maxRecoveryAttempts ?? 10;
    const traceContext = startTraceContext(def.name, id);
    if (
      o.generatedId === true &&
      !enqueue &&
      o.parent === undefined &&
      o.timeoutMs === undefined &&
      traceContext === null
    ) {
      // A fresh random id cannot collide, so the run may begin at once and its row is
      // written with its first checkpoint; start() still returns only once it is durable.
      // (A traced run is written by its start, which carries the trace context.)
      const r = runner.launch(def, id, list, new Map<number, CallRow>(), null, {
        id,
        name: def.name,
        input,
        maxRecovery,
      });
      await r.ctx.startCommitted;
      return;
    }
    const row = await this.d.store.starts.push({
      id,
      name: def.name,
      input,
      status: enqueue ? 'enqueued' : 'pending',
      parent: o.parent ?? null,
      parentSeq: o.parentSeq ?? null,
      timeoutMs: o.timeoutMs ?? null,
      maxRecovery,
      trace: traceContext,
    });
    if (!row.created && row.name !== def.name) {
      throw new WorkflowConflictError(
        `workflow id ${id} is already used by a run of ${row.name}, not ${def.name}`,
      );
    }
    faultPoint('workflows:start-committed');
    if (enqueue || runner.has(id)) return;
    if (row.created) {
      runner.launch(
        def,
        id,
        list,
        new Map<number, CallRow>(),
        row.deadline,
        undefined,
        traceContext,
      );
    } else if (row.status === 'pending' && row.executor_id === me && me !== undefined) {
      // This executor's own run that is not running here: the start's first attempt
      // committed and its answer was lost with the connection. Run it from its history.
      const taken = await this.take(id, me);
      if (taken?.taken === true && !runner.has(id)) this.launchTaken(def, taken);
    }
  }

  /** Takes a run for this executor with its recorded calls, in one statement (safe to repeat). */
  private async take(id: string, me: string): Promise<TakenRow | undefined> {
    const names = this.d.registry.workflowNames();
    const [row] = await this.d.retrying('tableos.wf_take_run', () =>
      queryRows<TakenRow>(this.d.sql, 'tableos.wf_take_run', TAKE_SQL, [id, me, names]),
    );
    return row;
  }

  private launchTaken(def: AnyWorkflow, row: TakenRow) {
    return this.d.runner.launch(
      def,
      row.id,
      deserialize(row.input) as unknown[],
      callsFromJson(row.calls),
      row.deadline,
      undefined,
      row.trace_context,
    );
  }
}
