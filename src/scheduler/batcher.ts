// Application-level group commit: calls that arrive while a batch is in flight are sent
// together as the next batch, in one statement; each caller still awaits its own commit.

interface Pending<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (err: unknown) => void;
}

export class Batcher<In, Out> {
  private queue: Pending<In, Out>[] = [];
  private inFlight = 0;

  constructor(
    /** Runs one batch; returns one output per input, in order. */
    private readonly runBatch: (items: In[]) => Promise<Out[]>,
    private readonly maxBatch = 1000,
    private readonly maxInFlight = 1,
  ) {}

  push(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.kick();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.inFlight > 0 || this.queue.length > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private kick(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.runBatch(batch.map((p) => p.item))
        .then<unknown, unknown>(
          (outs) => batch.forEach((p, i) => p.resolve(outs[i] as Out)),
          // One caller's bad input must not fail the others: retry them one by one.
          (err: unknown) =>
            batch.length === 1
              ? batch[0]!.reject(err)
              : Promise.all(
                  batch.map((p) =>
                    this.runBatch([p.item]).then((o) => p.resolve(o[0] as Out), p.reject),
                  ),
                ),
        )
        .finally(() => {
          this.inFlight--;
          this.kick();
        })
        .catch(() => undefined);
    }
  }
}
