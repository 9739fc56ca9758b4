// The context a workflow runs with: every call goes through it, gets a position (seq), and
// is either replayed from its recorded result or run and recorded. Each kind of call lives
// in its own module; this is the surface the workflow's code and the service see.
import crypto from 'node:crypto';
import type { TransactionSql } from '../kernel/database.js';
import type { DatabaseUnavailableError } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';
import { startChild, type ChildHandle } from './child-call.js';
import { durableSleep, durableWait, type DurableWaitOptions } from './durable-wait.js';
import { WorkflowArgumentError } from './errors.js';
import { getEvent, setEvent } from './event-calls.js';
import {
  workflowRecv,
  workflowSend,
  type WorkflowRecvOptions,
  type WorkflowSendOptions,
} from './messages.js';
import { transactionalCall } from './procedure-call.js';
import { recordValue } from './recorded-value.js';
import type { CallRow } from './rows.js';
import { RunState } from './run-state.js';
import type { Runtime } from './runtime.js';
import { runStep } from './step-call.js';
import type { CallRecord, DeferredStart } from './store.js';
import type { Callable, Isolation, StartOptions, WorkflowDef } from './types.js';

import type { TraceContext } from '../kernel/tracing.js';

export type { ChildHandle } from './child-call.js';
export type { DurableWaitOptions } from './durable-wait.js';

export class WorkflowContext {
  private readonly run: RunState;
  private logger: Logger | undefined;

  constructor(
    rt: Runtime,
    readonly workflowId: string,
    readonly workflowName: string,
    recorded: Map<number, CallRow>,
    trace?: TraceContext,
  ) {
    this.run = new RunState(rt, workflowId, workflowName, recorded, trace);
  }

  /**
   * The node's logger with this run's id and workflow name on every line (and the executor's
   * id, as on all of the node's lines). Lines are written again when a recovered run replays.
   */
  get log(): Logger {
    this.logger ??= this.run.rt.log.child({
      workflow: this.workflowId,
      workflowName: this.workflowName,
    });
    return this.logger;
  }

  /** The position the next call will get; also a stable key for idempotent sends. */
  get nextSeq(): number {
    return this.run.history.nextSeq;
  }

  /** Why the run was stopped (cancellation or timeout), if it was. */
  get stopError(): Error | undefined {
    return this.run.stop.error;
  }

  /** Set when the run must end in error whatever the code does (non-determinism, divergence). */
  get fatal(): Error | undefined {
    return this.run.history.fatal;
  }

  /** Set when another run recorded a position first; this run's results are discarded. */
  get superseded(): boolean {
    return this.run.history.superseded;
  }

  /** Set when a statement gave up after the reconnect deadline (the run stays pending). */
  get databaseLost(): DatabaseUnavailableError | undefined {
    return this.run.databaseLost;
  }

  /** Settles when the run's row is durable (at once unless the start was deferred). */
  get startCommitted(): Promise<void> {
    return this.run.checkpoints.startCommitted;
  }

  stop(err: Error): void {
    this.run.stop.stop(err);
  }

  /** Calls a procedure, a step, or a child workflow (started and awaited). */
  async call<A extends unknown[], R>(target: Callable<A, R>, ...args: A): Promise<R> {
    switch (target.kind) {
      case 'procedure':
        return transactionalCall(
          this.run,
          'procedure',
          target.name,
          (tx) => target.fn(tx, ...args),
          target.options,
        );
      case 'step':
        return runStep(this.run, target, args);
      case 'workflow':
        return (await this.startChild(target, args)).result();
      default:
        throw new WorkflowArgumentError(
          `ctx.call needs a procedure, step or workflow made with os.workflows, got ${typeof target}`,
        );
    }
  }

  /**
   * Runs fn in one Postgres transaction that also records its result at the next position,
   * so the effect and its checkpoint commit together: a re-run returns the recorded result
   * and writes nothing. The primitive procedures are built on it.
   */
  transactionalCall<R>(
    kind: string,
    name: string,
    fn: (tx: TransactionSql) => Promise<R>,
    opts: { isolation?: Isolation; maxRetries?: number } = {},
  ): Promise<R> {
    return transactionalCall(this.run, kind, name, fn, opts);
  }

  /** Starts a child workflow (cancelled with this one; inherits its deadline). */
  startChild<A extends unknown[], R>(
    wf: WorkflowDef<A, R>,
    args: A,
    opts: Pick<StartOptions, 'id' | 'timeoutMs'> = {},
  ): Promise<ChildHandle<R>> {
    return startChild(this.run, wf, args, opts);
  }

  /** Sleeps durably: the wake-up time is recorded, so a resumed run sleeps only what is left. */
  sleep(ms: number): Promise<void> {
    return durableSleep(this.run, ms);
  }

  /** The current time, recorded: a resumed run sees the same value. */
  now(): Promise<number> {
    return recordValue(this.run, 'now', 'now', () => Date.now());
  }

  random(): Promise<number> {
    return recordValue(this.run, 'random', 'random', () => Math.random());
  }

  uuid(): Promise<string> {
    return recordValue(this.run, 'uuid', 'uuid', () => crypto.randomUUID());
  }

  /**
   * Sends a message to one or more mailboxes (a workflow's mailbox is its id), exactly once:
   * the send commits with its checkpoint and a replay sends nothing.
   */
  send(
    to: string | readonly string[],
    message: unknown,
    opts: WorkflowSendOptions = {},
  ): Promise<void> {
    return workflowSend(this.run, to, message, opts);
  }

  /**
   * Receives the next message sent to this workflow (of topic, if given), waiting up to
   * timeoutMs (default 60 s, durable across restarts). The message is consumed in the
   * transaction that records it. Resolves undefined on timeout.
   */
  recv<T = unknown>(opts: WorkflowRecvOptions = {}): Promise<T | undefined> {
    return workflowRecv<T>(this.run, opts);
  }

  /** Publishes a value under key for others to read or wait on. */
  setEvent(key: string, value: unknown): Promise<void> {
    return setEvent(this.run, key, value);
  }

  /** Waits for another workflow's event; the wait's deadline and the value read are recorded. */
  getEvent<T = unknown>(
    workflowId: string,
    key: string,
    opts: { timeoutMs?: number } = {},
  ): Promise<T | undefined> {
    return getEvent<T>(this.run, workflowId, key, opts);
  }

  /**
   * Blocks until ready() holds or the timeout passes, waking on NOTIFY of channel (with a slow
   * poll as fallback). The deadline is recorded first, so after a restart the wait resumes
   * with the time that is left. Returns false on timeout.
   */
  durableWait(o: DurableWaitOptions): Promise<boolean> {
    return durableWait(this.run, o);
  }

  /** Awaits p unless the run is stopped first. */
  race<T>(p: Promise<T>): Promise<T> {
    return this.run.stop.race(p);
  }

  /** Holds this run's start to travel with its first checkpoint (one commit instead of two). */
  deferStart(start: DeferredStart): void {
    this.run.checkpoints.deferStart(start);
  }

  /** Hands over a start not yet written, so the finish can carry it. */
  takeDeferredStart(): DeferredStart | undefined {
    return this.run.checkpoints.takeDeferredStart();
  }

  /** Called once the start taken with takeDeferredStart has committed (or failed). */
  startWritten(err?: unknown): void {
    this.run.checkpoints.startWritten(err);
  }

  /** True while this run's deferred start is neither written nor given up. */
  get startPending(): boolean {
    return this.run.checkpoints.startPending;
  }

  /** Waits for checkpoints already on their way (their failure is the next call's concern). */
  settle(): Promise<void> {
    return this.run.checkpoints.settle();
  }

  /** Hands over the calls not yet written, so the finish can carry them in the same commit. */
  takePending(): CallRecord[] {
    return this.run.checkpoints.takePending();
  }

  /** Makes every recorded call durable, and the deferred start with them (unless withStart is false). */
  flush(withStart = true): Promise<void> {
    return this.run.checkpoints.flush(withStart);
  }
}
