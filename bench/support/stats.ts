// Latency statistics and the one-JSON-line report every benchmark ends with.

export interface Figures {
  ops_s: number;
  p50_ms: number;
  p99_ms: number;
  n: number;
}

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i]!;
}

export function figures(latenciesMs: number[], elapsedMs: number): Figures {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    ops_s: round((latenciesMs.length / elapsedMs) * 1000),
    p50_ms: round(percentile(sorted, 50), 3),
    p99_ms: round(percentile(sorted, 99), 3),
    n: latenciesMs.length,
  };
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Runs fn with `concurrency` loops in flight until `ms` have passed; returns per-op latencies. */
export async function timed(
  fn: () => Promise<unknown>,
  ms: number,
  concurrency = 1,
): Promise<Figures> {
  const lat: number[] = [];
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await fn();
        lat.push(performance.now() - s);
      }
    }),
  );
  return figures(lat, performance.now() - t0);
}

/** Rounds of one measurement merged: mean throughput, count-weighted p50, worst p99. */
export function mergeRounds(fs: Figures[]): Figures {
  const n = fs.reduce((a, f) => a + f.n, 0);
  return {
    ops_s: round(fs.reduce((a, f) => a + f.ops_s, 0) / fs.length),
    p50_ms: round(fs.reduce((a, f) => a + f.p50_ms * f.n, 0) / n, 3),
    p99_ms: round(Math.max(...fs.map((f) => f.p99_ms)), 3),
    n,
  };
}

export function report(obj: Record<string, unknown>): void {
  console.log(JSON.stringify(obj));
}
