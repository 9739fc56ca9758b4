// Application-level group commit: requests made in the same event-loop turn (and while the
// previous statements are in flight) go to the database as one statement; each caller's
// promise settles only when that statement has committed.

export type FlushFn<In, Out> = (items: In[]) => Promise<Out[]>;

interface Waiting<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (err: unknown) => void;
}

export class Batcher<In, Out> {
  private queue: Waiting<In, Out>[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly flushFn: FlushFn<In, Out>,
    private readonly opts: { maxInFlight: number; maxBatch: number },
  ) {}

  push(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.drain();
    };
    // Idle: go at once (after this microtask burst), for latency. Busy: wait for the end of
    // the event-loop turn, so everything the finishing batch released joins the next one.
    if (this.inFlight === 0) queueMicrotask(run);
    else setImmediate(run);
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.opts.maxInFlight) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight++;
      this.flushFn(batch.map((w) => w.item))
        .then(
          (outs) => {
            batch.forEach((w, i) => w.resolve(outs[i] as Out));
          },
          (err: unknown) => {
            for (const w of batch) w.reject(err);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.schedule();
        });
    }
  }
}
