// Application-level group commit for every service: items queued while a statement is in
// flight go to the database together in the next one, and each caller's promise settles
// only when the statement holding its own item has committed.
import { TableOSError } from './errors.js';

/** One item's outcome, for batches that settle each item on its own. */
export type BatchOutcome<Out> = { ok: true; value: Out } | { ok: false; error: unknown };

export interface BatcherOptions {
  /** Items in one statement at most (default 1000). */
  maxBatch?: number;
  /** Statements in flight at once (default 1). */
  maxInFlight?: number;
  /**
   * How the first batch after an idle spell gathers: `microtask` lets the callers of the
   * same synchronous burst join it, `immediate` waits for the end of the event-loop turn,
   * `none` sends the first item at once (default `microtask`).
   */
  gather?: 'microtask' | 'immediate' | 'none';
  /**
   * Whether a batch that finishes waits for the end of the event-loop turn before the next
   * one is formed, so the callers it resumed can queue their next item into it (default true).
   */
  regather?: boolean;
  /**
   * What a failed statement does: `reject` fails every item of the batch; `retry-each`
   * runs each item again alone, so one caller's bad input does not fail the others
   * (default `reject`).
   */
  onFailure?: 'reject' | 'retry-each';
  /**
   * Wraps each statement, e.g. with the kernel's retry after a lost connection; the
   * statement must then be safe to run twice (default: run once).
   */
  retry?: <T>(op: () => Promise<T>) => Promise<T>;
}

interface Waiting<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (err: unknown) => void;
}

type RunBatch<In, Out> = (items: In[]) => Promise<BatchOutcome<Out>[]>;

/** A batch statement returned fewer results than it was given items: a defect in that statement. */
export class BatchResultError extends TableOSError {
  constructor(expected: number, got: number) {
    super('TABLEOS_BATCH_RESULT', `a batch of ${expected} items returned ${got} results`);
  }
}

export class Batcher<In, Out> {
  private queue: Waiting<In, Out>[] = [];
  private inFlight = 0;
  private inFlightItems = 0;
  private scheduled = false;
  private drainWaiters: (() => void)[] = [];
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly gather: 'microtask' | 'immediate' | 'none';
  private readonly regather: boolean;
  private readonly onFailure: 'reject' | 'retry-each';
  private readonly retry: <T>(op: () => Promise<T>) => Promise<T>;

  private constructor(
    private readonly runBatch: RunBatch<In, Out>,
    opts: BatcherOptions,
  ) {
    this.maxBatch = opts.maxBatch ?? 1000;
    this.maxInFlight = opts.maxInFlight ?? 1;
    this.gather = opts.gather ?? 'microtask';
    this.regather = opts.regather ?? true;
    this.onFailure = opts.onFailure ?? 'reject';
    this.retry = opts.retry ?? ((op) => op());
    if (!(this.maxBatch >= 1 && this.maxInFlight >= 1))
      throw new RangeError('maxBatch and maxInFlight must be at least 1');
  }

  /** A batcher whose statement returns one output per item, in order. */
  static of<In, Out>(
    run: (items: In[]) => Promise<Out[]>,
    opts: BatcherOptions = {},
  ): Batcher<In, Out> {
    return new Batcher<In, Out>(
      async (items) => (await run(items)).map((value) => ({ ok: true as const, value })),
      opts,
    );
  }

  /** A batcher whose statement settles each item on its own (one outcome per item, in order). */
  static settling<In, Out>(run: RunBatch<In, Out>, opts: BatcherOptions = {}): Batcher<In, Out> {
    return new Batcher(run, opts);
  }

  push(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule(this.inFlight === 0 ? this.gather : 'immediate');
    });
  }

  /** Items queued or in flight. */
  get pending(): number {
    return this.queue.length + this.inFlightItems;
  }

  /** Resolves once nothing is queued or in flight. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private schedule(how: 'microtask' | 'immediate' | 'none'): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    if (how === 'none') return this.drain();
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.drain();
    };
    if (how === 'microtask') queueMicrotask(run);
    else setImmediate(run);
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.inFlightItems += batch.length;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.inFlightItems -= batch.length;
        if (this.pending === 0) {
          for (const w of this.drainWaiters.splice(0)) w();
        } else {
          this.schedule(this.regather ? 'immediate' : 'none');
        }
      });
    }
  }

  private async send(batch: Waiting<In, Out>[]): Promise<void> {
    let outcomes: BatchOutcome<Out>[];
    try {
      const items = batch.map((w) => w.item);
      outcomes = await this.retry(() => this.runBatch(items));
    } catch (err) {
      if (this.onFailure === 'retry-each' && batch.length > 1) {
        await Promise.all(batch.map((w) => this.send([w])));
      } else {
        for (const w of batch) w.reject(err);
      }
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o === undefined) w.reject(new BatchResultError(batch.length, outcomes.length));
      else if (o.ok) w.resolve(o.value);
      else w.reject(o.error);
    });
  }
}
