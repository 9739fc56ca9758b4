// Group commit: items queued while a statement is in flight go together in the next one,
// and each caller's promise settles only when its own statement has committed.

export class Batcher<In, Out> {
  private queue: { item: In; resolve: (v: Out) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    /** Runs one batch; returns one result per item, in order. */
    private readonly run: (items: In[]) => Promise<Out[]>,
    private readonly maxBatch = 1000,
  ) {}

  push(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) this.drain();
    });
  }

  get idle(): boolean {
    return !this.running && this.queue.length === 0;
  }

  private drain(): void {
    this.running = true;
    // One tick lets callers that start together join the same batch.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const out = await this.run(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(out[i] as Out));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = false;
  }
}
