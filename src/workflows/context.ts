// The context a workflow runs with: every call goes through it, gets a position (seq), and
// is either replayed from its recorded result or run and recorded.
import {
  workflowRecv,
  workflowSend,
  type WorkflowRecvOptions,
  type WorkflowSendOptions,
} from './messages.js';
import crypto from 'node:crypto';
import type { TransactionSql } from '../kernel/database.js';
import { PG, pgCode } from '../kernel/pg-codes.js';
import {
  NonDeterminismError,
  StepRetriesExhaustedError,
  WorkflowArgumentError,
  WorkflowConflictError,
} from './errors.js';
import { DatabaseUnavailableError } from '../kernel/errors.js';
import { faultPoint } from '../kernel/fault.js';
import { waitUntil } from '../kernel/wait.js';
import type { CallRow } from './rows.js';
import { deserialize, deserializeError, serialize, serializeError } from './serialize.js';
import type { CallRecord, CommitItem, DeferredStart } from './store.js';
import type { Runtime } from './runtime.js';
import type {
  Callable,
  Isolation,
  ProcedureDef,
  StartOptions,
  StepDef,
  WorkflowDef,
} from './types.js';
import { outcomeValue } from './types.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface DurableWaitOptions {
  /** NOTIFY channel whose notifications may mean the awaited thing happened. */
  channel: string;
  /** Maximum wait; the deadline is recorded, so it survives restarts. */
  timeoutMs: number;
  /** Checks whether the awaited thing happened; called first and after each wake-up. */
  ready: () => Promise<boolean>;
  /** Only payloads this accepts wake the wait (default: all). */
  filter?: (payload: string) => boolean;
}

export interface ChildHandle<R> {
  readonly workflowId: string;
  result(): Promise<R>;
}

export class WorkflowContext {
  private seq = 0;
  private pending: CallRecord[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private deferredStart: DeferredStart | undefined;
  private startSettled: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** Settles when the run's row is durable (at once unless the start was deferred). */
  startCommitted: Promise<void> = Promise.resolve();
  private stopReason: Error | undefined;
  private stopReject: ((err: Error) => void) | undefined;
  private readonly stopped: Promise<never>;
  /** Set when the run must end in error whatever the code does (non-determinism, divergence). */
  fatal: Error | undefined;
  /** Set when another run recorded a position first; this run's results are discarded. */
  superseded = false;
  /**
   * Set when a statement gave up after the reconnect deadline: the run records nothing more
   * and stops here; it stays pending and is resumed from its history once the database is back.
   */
  databaseLost: DatabaseUnavailableError | undefined;

  constructor(
    private readonly rt: Runtime,
    readonly workflowId: string,
    readonly workflowName: string,
    private readonly recorded: Map<number, CallRow>,
  ) {
    this.stopped = new Promise<never>((_, reject) => (this.stopReject = reject));
    this.stopped.catch(() => undefined);
  }

  /** The position the next call will get; also a stable key for idempotent sends. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Why the run was stopped (cancellation or timeout), if it was. */
  get stopError(): Error | undefined {
    return this.stopReason;
  }

  stop(err: Error): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = err;
    this.stopReject?.(err);
  }

  /** Calls a procedure, a step, or a child workflow (started and awaited). */
  async call<A extends unknown[], R>(target: Callable<A, R>, ...args: A): Promise<R> {
    switch (target.kind) {
      case 'procedure':
        return this.runProcedure(target, args);
      case 'step':
        return this.runStep(target, args);
      case 'workflow':
        return (await this.startChild(target, args)).result();
      default:
        throw new WorkflowArgumentError(
          `ctx.call needs a procedure, step or workflow made with os.workflows, got ${typeof target}`,
        );
    }
  }

  private runProcedure<A extends unknown[], R>(p: ProcedureDef<A, R>, args: A): Promise<R> {
    return this.transactionalCall('procedure', p.name, (tx) => p.fn(tx, ...args), p.options);
  }

  /**
   * Runs fn in one Postgres transaction that also records its result at the next position,
   * so the effect and its checkpoint commit together: a re-run returns the recorded result
   * and writes nothing. The primitive procedures, and messaging's send/recv, are built on.
   */
  async transactionalCall<R>(
    kind: string,
    name: string,
    fn: (tx: TransactionSql) => Promise<R>,
    opts: { isolation?: Isolation; maxRetries?: number } = {},
  ): Promise<R> {
    const seq = this.seq++;
    const rec = this.replayed(seq, kind, name);
    if (rec) return replayValue(rec) as R;
    this.checkLive();
    await this.flush();
    const iso = opts.isolation ?? 'read committed';
    const maxRetries = opts.maxRetries ?? 10;
    for (let attempt = 0; ; attempt++) {
      const started = new Date();
      try {
        // After a lost connection the transaction runs again; if the first one did commit,
        // its recorded position makes this one fail on workflow_call_pkey and roll back.
        const value = await this.db(`${kind} ${name}`, async () => {
          const v = (await this.rt.sql.begin(`isolation level ${iso}`, async (tx) => {
            const v = await fn(tx);
            const output = serialize(v, `result of ${kind} ${name}`);
            await tx`insert into tableos.workflow_call (workflow_id, seq, kind, name, output, started_at)
                     values (${this.workflowId}, ${seq}, ${kind}, ${name}, ${output}, ${started})`;
            return v;
          })) as R;
          faultPoint('workflows:procedure-committed');
          return v;
        });
        return value;
      } catch (err) {
        if (err instanceof DatabaseUnavailableError) throw err;
        const code = pgCode(err);
        if (
          code === PG.uniqueViolation &&
          (err as { constraint_name?: string }).constraint_name === 'workflow_call_pkey'
        ) {
          // Another run of this workflow committed this position first; its result stands.
          return replayValue(await this.loadRecorded(seq, kind, name)) as R;
        }
        if (
          (code === PG.serializationFailure || code === PG.deadlockDetected) &&
          attempt < maxRetries
        ) {
          await sleep(Math.min(1000, 5 * 2 ** attempt) * (0.5 + Math.random()));
          continue;
        }
        this.record({
          workflowId: this.workflowId,
          seq,
          kind,
          name,
          output: null,
          error: serializeError(err),
          startedAt: started,
        });
        await this.flush();
        throw err;
      }
    }
  }

  private async runStep<A extends unknown[], R>(s: StepDef<A, R>, args: A): Promise<R> {
    const seq = this.seq++;
    const rec = this.replayed(seq, 'step', s.name);
    if (rec) return replayValue(rec) as R;
    this.checkLive();
    // The run's row and earlier results must be durable before a new external effect
    // happens: an effect of a run that was never recorded could not be finished by recovery.
    await this.flush(true);
    const retries = s.options.retries ?? 0;
    let backoff = s.options.backoffMs ?? 100;
    const started = new Date();
    for (let attempt = 1; ; attempt++) {
      let value: R;
      try {
        value = await s.fn(...args);
      } catch (err) {
        if (attempt <= retries) {
          await this.delay(backoff);
          backoff = Math.min(
            backoff * (s.options.backoffFactor ?? 2),
            s.options.maxBackoffMs ?? 60_000,
          );
          continue;
        }
        const failure = retries > 0 ? new StepRetriesExhaustedError(s.name, attempt, err) : err;
        this.record({
          workflowId: this.workflowId,
          seq,
          kind: 'step',
          name: s.name,
          output: null,
          error: serializeError(failure),
          startedAt: started,
        });
        await this.flush();
        throw failure;
      }
      faultPoint('workflows:step-effect-done');
      let output: string | null;
      try {
        output = serialize(value, `result of step ${s.name}`);
      } catch (err) {
        this.record({
          workflowId: this.workflowId,
          seq,
          kind: 'step',
          name: s.name,
          output: null,
          error: serializeError(err),
          startedAt: started,
        });
        await this.flush();
        throw err;
      }
      // Recorded with the next call or the finish (or at the end of this event-loop turn).
      this.record({
        workflowId: this.workflowId,
        seq,
        kind: 'step',
        name: s.name,
        output,
        error: null,
        startedAt: started,
      });
      return value;
    }
  }

  /** Starts a child workflow (cancelled with this one; inherits its deadline). */
  async startChild<A extends unknown[], R>(
    wf: WorkflowDef<A, R>,
    args: A,
    opts: Pick<StartOptions, 'id' | 'timeoutMs'> = {},
  ): Promise<ChildHandle<R>> {
    const seq = this.seq++;
    const rec = this.replayed(seq, 'child', wf.name);
    let childId: string;
    if (rec) {
      childId = deserialize(rec.output) as string;
    } else {
      this.checkLive();
      await this.flush();
      childId = opts.id ?? `${this.workflowId}:${seq}`;
      await this.rt.startChild(wf as unknown as WorkflowDef<never[], unknown>, args, {
        id: childId,
        parent: this.workflowId,
        parentSeq: seq,
        timeoutMs: opts.timeoutMs,
      });
    }
    return {
      workflowId: childId,
      result: async () => outcomeValue(await this.race(this.rt.outcome(childId))) as R,
    };
  }

  /** Sleeps durably: the wake-up time is recorded, so a resumed run sleeps only what is left. */
  async sleep(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !(ms >= 0)) {
      throw new WorkflowArgumentError(
        `sleep needs a number of milliseconds >= 0, got ${String(ms)}`,
      );
    }
    const seq = this.seq++;
    const rec = this.replayed(seq, 'sleep', 'sleep');
    const wake = rec ? (deserialize(rec.output) as number) : Date.now() + ms;
    if (!rec) {
      this.checkLive();
      this.record({
        workflowId: this.workflowId,
        seq,
        kind: 'sleep',
        name: 'sleep',
        output: String(wake),
        error: null,
        startedAt: new Date(),
      });
      await this.flush();
    }
    await this.delay(wake - Date.now());
  }

  /** The current time, recorded: a resumed run sees the same value. */
  now(): Promise<number> {
    return this.recordValue('now', 'now', () => Date.now());
  }

  random(): Promise<number> {
    return this.recordValue('random', 'random', () => Math.random());
  }

  uuid(): Promise<string> {
    return this.recordValue('uuid', 'uuid', () => crypto.randomUUID());
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
    return workflowSend(this, to, message, opts);
  }

  /**
   * Receives the next message sent to this workflow (of topic, if given), waiting up to
   * timeoutMs (default 60 s, durable across restarts). The message is consumed in the
   * transaction that records it. Resolves undefined on timeout.
   */
  recv<T = unknown>(opts: WorkflowRecvOptions = {}): Promise<T | undefined> {
    return workflowRecv<T>(this, this.rt.sql, opts);
  }

  /** Publishes a value under key for others to read or wait on. */
  async setEvent(key: string, value: unknown): Promise<void> {
    if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
      throw new WorkflowArgumentError('event key must be a string of 1 to 255 characters');
    }
    const seq = this.seq++;
    if (this.replayed(seq, 'set_event', key)) return;
    this.checkLive();
    const text = serialize(value, `event ${key}`);
    await this.flush();
    await this.db(
      'tableos.wf_set_event',
      () => this.rt.sql`select tableos.wf_set_event(${this.workflowId}, ${seq}, ${key}, ${text})`,
    );
  }

  /** Waits for another workflow's event; the wait's deadline and the value read are recorded. */
  async getEvent<T = unknown>(
    workflowId: string,
    key: string,
    opts: { timeoutMs?: number } = {},
  ): Promise<T | undefined> {
    const read = () => this.rt.readEvent(workflowId, key);
    // The wait's last read is the value recorded: one read when the event is there.
    let last: { found: boolean; value: unknown } | undefined;
    await this.durableWait({
      channel: 'tableos_wf_event',
      timeoutMs: opts.timeoutMs ?? 60_000,
      filter: (p) => p === workflowId,
      ready: async () => (last = await read()).found,
    });
    return this.recordValue(
      'get_event',
      `${workflowId}/${key}`,
      async () => (last ?? (await read())).value,
    ) as Promise<T | undefined>;
  }

  /**
   * Blocks until ready() holds or the timeout passes, waking on NOTIFY of channel (with a slow
   * poll as fallback). The deadline is recorded first, so after a restart the wait resumes
   * with the time that is left. Returns false on timeout.
   */
  async durableWait(o: DurableWaitOptions): Promise<boolean> {
    const seq = this.seq++;
    const rec = this.replayed(seq, 'wait', o.channel);
    const deadline = rec ? (deserialize(rec.output) as number) : Date.now() + o.timeoutMs;
    if (!rec) {
      this.checkLive();
      this.record({
        workflowId: this.workflowId,
        seq,
        kind: 'wait',
        name: o.channel,
        output: String(deadline),
        error: null,
        startedAt: new Date(),
      });
      await this.flush();
    }
    const ready = await waitUntil(
      this.rt.notifier,
      async () => {
        this.checkLive();
        return (await this.db(`wait on ${o.channel}`, o.ready)) ? true : undefined;
      },
      {
        channel: o.channel,
        deadline,
        pollMs: this.rt.pollMs,
        ...(o.filter === undefined ? {} : { filter: o.filter }),
        interrupt: (sleep) => this.race(sleep),
      },
    );
    return ready === true;
  }

  private async recordValue<T>(kind: string, name: string, make: () => T | Promise<T>): Promise<T> {
    const seq = this.seq++;
    const rec = this.replayed(seq, kind, name);
    if (rec) return replayValue(rec) as T;
    this.checkLive();
    const v = await make();
    this.record({
      workflowId: this.workflowId,
      seq,
      kind,
      name,
      output: serialize(v, `${kind} value`),
      error: null,
      startedAt: null,
    });
    return v;
  }

  private replayed(seq: number, kind: string, name: string): CallRow | undefined {
    if (this.fatal) throw this.fatal;
    const r = this.recorded.get(seq);
    if (r === undefined) return undefined;
    if (r.kind !== kind || r.name !== name) {
      this.fatal = new NonDeterminismError(
        this.workflowId,
        seq,
        `${r.kind} ${r.name}`,
        `${kind} ${name}`,
      );
      throw this.fatal;
    }
    return r;
  }

  private async loadRecorded(seq: number, kind: string, name: string): Promise<CallRow> {
    const [row] = await this.db(
      'tableos.workflow_call',
      () => this.rt.sql<CallRow[]>`
        select * from tableos.workflow_call where workflow_id = ${this.workflowId} and seq = ${seq}`,
    );
    if (row === undefined)
      throw new WorkflowConflictError(`position ${seq} of workflow ${this.workflowId} vanished`);
    this.recorded.set(seq, row);
    return this.replayed(seq, kind, name) as CallRow;
  }

  private checkLive(): void {
    if (this.stopReason) throw this.stopReason;
    if (this.fatal) throw this.fatal;
    if (this.databaseLost) throw this.databaseLost;
  }

  /**
   * Runs a statement of this run, again after each lost connection; past the reconnect
   * deadline the run is marked databaseLost and stops.
   */
  private async db<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await this.rt.retrying(what, op);
    } catch (err) {
      if (err instanceof DatabaseUnavailableError) this.databaseLost ??= err;
      throw err;
    }
  }

  /** Awaits p unless the run is stopped first. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.stopped]);
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    let t: NodeJS.Timeout | undefined;
    return this.race(
      new Promise<void>((r) => (t = setTimeout(r, Math.min(ms, 2 ** 31 - 1)))),
    ).finally(() => clearTimeout(t));
  }

  /**
   * Holds this run's start to travel with its first checkpoint (one commit instead of two);
   * it is written at the end of this event-loop turn at the latest.
   */
  deferStart(start: DeferredStart): void {
    this.deferredStart = start;
    this.startCommitted = new Promise<void>((resolve, reject) => {
      this.startSettled = { resolve, reject };
    });
    this.startCommitted.catch(() => undefined);
    this.scheduleFlush();
  }

  /** Hands over a start not yet written, so the finish can carry it. */
  takeDeferredStart(): DeferredStart | undefined {
    const s = this.deferredStart;
    this.deferredStart = undefined;
    return s;
  }

  /** Called once the start taken with takeDeferredStart has committed (or failed). */
  startWritten(err?: unknown): void {
    const s = this.startSettled;
    this.startSettled = undefined;
    if (s === undefined) return;
    if (err === undefined) {
      s.resolve();
      faultPoint('workflows:start-committed');
    } else s.reject(err);
  }

  private record(r: CallRecord): void {
    this.pending.push(r);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush().catch((err: unknown) =>
          this.rt.log.warn({ err, workflow: this.workflowId }, 'checkpoint failed'),
        );
      });
    }
  }

  /** Waits for checkpoints already on their way (their failure is the next call's concern). */
  settle(): Promise<void> {
    return this.flushing.catch(() => undefined);
  }

  /** Hands over the calls not yet written, so the finish can carry them in the same commit. */
  takePending(): CallRecord[] {
    return this.pending.splice(0);
  }

  /**
   * Makes every recorded call durable (in one group commit with other workflows'), and the
   * deferred start with them; withStart false leaves a lone deferred start for later.
   */
  flush(withStart = true): Promise<void> {
    if (this.pending.length === 0 && (this.deferredStart === undefined || !withStart)) {
      return this.flushing;
    }
    const start = this.takeDeferredStart();
    const recs = this.pending.splice(0);
    const prev = this.flushing;
    this.flushing = (async () => {
      await prev.catch(() => undefined);
      const items: CommitItem[] = recs.map((call) => ({ call }));
      if (start) items.unshift({ start });
      let all: unknown[];
      try {
        all = await Promise.all(items.map((it) => this.rt.store.commits.push(it)));
      } catch (err) {
        // None of these records is known to be durable: keep them for the next flush or the
        // finish (positions are insert-once, so one that did commit is matched, not doubled).
        // Dropping them would let the run finish with a gap in its history.
        if (err instanceof DatabaseUnavailableError) this.databaseLost ??= err;
        this.pending.unshift(...recs);
        if (start) this.startWritten(err);
        throw err;
      }
      if (start) this.startWritten();
      const results = (start ? all.slice(1) : all) as Awaited<
        ReturnType<typeof this.rt.store.commits.push>
      >[];
      results.forEach((existing, i) => {
        if (existing === undefined) return;
        const mine = recs[i] as CallRecord;
        const same =
          existing.kind === mine.kind &&
          existing.name === mine.name &&
          existing.output === mine.output &&
          existing.error === mine.error;
        if (same) return;
        // Another run of this workflow recorded this position first: its history stands and
        // this run stops without finishing (its outcome is the other run's).
        this.superseded = true;
        this.fatal ??= new WorkflowConflictError(
          `another run of workflow ${this.workflowId} recorded ${existing.kind ?? '?'} ${existing.name} at position ${mine.seq} first; this run stops`,
        );
      });
      if (recs.some((r) => r.kind === 'step')) faultPoint('workflows:step-checkpointed');
    })();
    return this.flushing;
  }
}

function replayValue(rec: CallRow): unknown {
  if (rec.error !== null) throw deserializeError(rec.error);
  return deserialize(rec.output);
}
