// Kernel: a no-op stored procedure through the TableOS call layer against a raw `select 1`
// through the same driver and pool, one call in flight and then 16, alternating rounds.
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import { report, round, timed, type Figures } from './support/stats.js';

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 3);
  const rounds = 3;
  const db = await benchDatabase();
  const os = await TableOS.open({
    databaseUrl: db.url,
    logger: silentLogger,
    executor: false,
    poolSize: 16,
  });
  try {
    const call = () => os.call('tableos.noop');
    const raw = () => os.sql`select 1`;
    await timed(call, 500);
    await timed(raw, 500);
    const results: Record<string, { tableos: Figures[]; raw: Figures[] }> = {};
    for (const c of [1, 16]) {
      const r = { tableos: [] as Figures[], raw: [] as Figures[] };
      for (let i = 0; i < rounds; i++) {
        r.raw.push(await timed(raw, (seconds * 1000) / rounds, c));
        r.tableos.push(await timed(call, (seconds * 1000) / rounds, c));
      }
      results[c] = r;
      console.log(`in flight ${c}: tableos ${summary(r.tableos)} | raw select 1 ${summary(r.raw)}`);
    }
    const seq = merge(results[1]!.tableos);
    const seqRaw = merge(results[1]!.raw);
    const conc = merge(results[16]!.tableos);
    const concRaw = merge(results[16]!.raw);
    report({
      bench: 'kernel',
      tableos: { ...seq, concurrent16: conc },
      peer: { name: 'raw select 1 (postgres.js)', ...seqRaw, concurrent16: concRaw },
      ratio: round(seq.ops_s / seqRaw.ops_s, 3),
      ratio_concurrent16: round(conc.ops_s / concRaw.ops_s, 3),
      overhead_pct: round((1 - seq.ops_s / seqRaw.ops_s) * 100, 1),
    });
  } finally {
    await os.close();
    await db.close();
  }
}

function merge(fs: Figures[]): Figures {
  const n = fs.reduce((a, f) => a + f.n, 0);
  return {
    ops_s: round(fs.reduce((a, f) => a + f.ops_s, 0) / fs.length),
    p50_ms: round(fs.reduce((a, f) => a + f.p50_ms * f.n, 0) / n, 3),
    p99_ms: round(Math.max(...fs.map((f) => f.p99_ms)), 3),
    n,
  };
}

function summary(fs: Figures[]): string {
  const m = merge(fs);
  return `${m.ops_s} ops/s p50 ${m.p50_ms} ms p99 ${m.p99_ms} ms`;
}
