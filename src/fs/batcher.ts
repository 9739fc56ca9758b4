// Groups concurrent calls into one statement: while a batch is in flight the next one
// collects, and each caller still awaits its own item's committed result.

interface Pending<In, Out> {
  input: In;
  resolve: (out: Out) => void;
  reject: (err: unknown) => void;
}

export type BatchResult<Out> = { ok: true; value: Out } | { ok: false; error: unknown };

export class Batcher<In, Out> {
  private queue: Pending<In, Out>[] = [];
  private running = false;

  constructor(
    private readonly run: (inputs: In[]) => Promise<BatchResult<Out>[]>,
    private readonly maxBatch = 256,
  ) {}

  push(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await this.run(batch.map((p) => p.input));
          batch.forEach((p, i) => {
            const r = results[i];
            if (r === undefined) p.reject(new Error('batch returned too few results'));
            else if (r.ok) p.resolve(r.value);
            else p.reject(r.error);
          });
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
        // Callers resumed by this batch usually queue their next call at once: give them a
        // tick, so that work goes out as one batch rather than a batch of one and the rest.
        if (this.queue.length === 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
  }
}
