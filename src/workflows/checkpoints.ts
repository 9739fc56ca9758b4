// A run's checkpoint buffer: recorded calls wait here until the next call that needs them
// durable (or the end of the event-loop turn), then go out in one group commit with other
// workflows', or travel inside the statement of the operation that follows them.
import { DatabaseUnavailableError } from '../kernel/errors.js';
import { faultPoint } from '../kernel/fault.js';
import type { Logger } from '../kernel/logger.js';
import type { History, RecordedCall } from './history.js';
import type { CallRecord, CommitItem, CommitResult, DeferredStart, Store } from './store.js';

/** What an operation's statement writes for the buffer: the held-back start and the calls. */
export interface Carried {
  start: DeferredStart | undefined;
  calls: CallRecord[];
}

/** A carried position that was recorded already (by another run, or by a lost first attempt). */
export type CarriedRecord = RecordedCall & { seq: number };

export class Checkpoints {
  private pending: CallRecord[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private deferredStart: DeferredStart | undefined;
  private startSettled: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** Settles when the run's row is durable (at once unless the start was deferred). */
  startCommitted: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly history: History,
    /** Told when a write gave up after the reconnect deadline. */
    private readonly onLost: (err: DatabaseUnavailableError) => void,
  ) {}

  /** Buffers a recorded call; it is written with the next flush. */
  record(r: CallRecord): void {
    this.pending.push(r);
    this.scheduleFlush();
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
  /** True while a deferred start has not been settled either way. */
  get startPending(): boolean {
    return this.startSettled !== undefined;
  }

  startWritten(err?: unknown): void {
    const s = this.startSettled;
    this.startSettled = undefined;
    if (s === undefined) return;
    if (err === undefined) {
      s.resolve();
      faultPoint('workflows:start-committed');
    } else s.reject(err);
  }

  /** Hands over the calls not yet written, so the finish can carry them in the same commit. */
  takePending(): CallRecord[] {
    return this.pending.splice(0);
  }

  /** Waits for checkpoints already on their way (their failure is the next call's concern). */
  settle(): Promise<void> {
    return this.flushing.catch(() => undefined);
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
    const calls = this.pending.splice(0);
    const prev = this.flushing;
    this.flushing = (async () => {
      await prev.catch(() => undefined);
      const items: CommitItem[] = calls.map((call) => ({ call }));
      if (start) items.unshift({ start });
      let all: CommitResult[];
      try {
        all = await Promise.all(items.map((it) => this.store.commits.push(it)));
      } catch (err) {
        // None of these records is known to be durable: keep them for the next flush or the
        // finish (positions are insert-once, so one that did commit is matched, not doubled).
        // Dropping them would let the run finish with a gap in its history.
        if (err instanceof DatabaseUnavailableError) this.onLost(err);
        this.pending.unshift(...calls);
        if (start) this.startWritten(err);
        throw err;
      }
      const results = start ? all.slice(1) : all;
      this.written(start, calls, (_, i) => results[i] ?? undefined);
    })();
    return this.flushing;
  }

  /**
   * Runs an operation whose one statement also writes what is buffered (and the held-back
   * start), so the checkpoints and the operation commit together. run returns its value and
   * the carried positions it found recorded already. If it fails, nothing it carried is
   * known to be written: all of it stays buffered, as if it had not been taken.
   */
  carry<T>(run: (c: Carried) => Promise<{ value: T; recorded: CarriedRecord[] }>): Promise<T> {
    const prev = this.flushing;
    const done = (async () => {
      await prev.catch(() => undefined);
      const start = this.takeDeferredStart();
      const calls = this.pending.splice(0);
      let out: { value: T; recorded: CarriedRecord[] };
      try {
        out = await run({ start, calls });
      } catch (err) {
        if (err instanceof DatabaseUnavailableError) this.onLost(err);
        this.pending.unshift(...calls);
        if (start) this.deferredStart ??= start;
        throw err;
      }
      const bySeq = new Map(out.recorded.map((r) => [r.seq, r]));
      this.written(start, calls, (c) => bySeq.get(c.seq));
      return out.value;
    })();
    // The operation's caller gets its failure; what it carried is buffered again for the next.
    this.flushing = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  private written(
    start: DeferredStart | undefined,
    calls: CallRecord[],
    existing: (c: CallRecord, i: number) => RecordedCall | undefined,
  ): void {
    if (start) this.startWritten();
    calls.forEach((c, i) => this.history.check(c, existing(c, i)));
    if (calls.some((r) => r.kind === 'step')) faultPoint('workflows:step-checkpointed');
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush().catch((err: unknown) =>
        this.log.warn({ err, workflow: this.history.workflowId }, 'checkpoint failed'),
      );
    });
  }
}
