// Kernel: a no-op stored procedure through the TableOS call layer against a raw `select 1`
// through the same driver and pool, one call in flight and then 16, alternating rounds.
// The same procedure called with raw driver SQL separates the layer's cost from the server's.
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import { mergeRounds, report, round, timed, type Figures } from './support/stats.js';

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
    const rawNoop = () => os.sql`select * from tableos.noop()`;
    await timed(call, 500);
    await timed(raw, 500);
    await timed(rawNoop, 500);
    const results: Record<string, { tableos: Figures[]; raw: Figures[]; rawNoop: Figures[] }> = {};
    for (const c of [1, 16]) {
      const r = { tableos: [] as Figures[], raw: [] as Figures[], rawNoop: [] as Figures[] };
      for (let i = 0; i < rounds; i++) {
        r.raw.push(await timed(raw, (seconds * 1000) / rounds, c));
        r.tableos.push(await timed(call, (seconds * 1000) / rounds, c));
        r.rawNoop.push(await timed(rawNoop, (seconds * 1000) / rounds, c));
      }
      results[c] = r;
      console.log(
        `in flight ${c}: tableos ${summary(r.tableos)} | raw select 1 ${summary(r.raw)} | raw noop() ${summary(r.rawNoop)}`,
      );
    }
    const seq = mergeRounds(results[1]!.tableos);
    const seqRaw = mergeRounds(results[1]!.raw);
    const conc = mergeRounds(results[16]!.tableos);
    const concRaw = mergeRounds(results[16]!.raw);
    report({
      bench: 'kernel',
      tableos: { ...seq, concurrent16: conc },
      peer: { name: 'raw select 1 (postgres.js)', ...seqRaw, concurrent16: concRaw },
      ratio: round(seq.ops_s / seqRaw.ops_s, 3),
      ratio_concurrent16: round(conc.ops_s / concRaw.ops_s, 3),
      overhead_pct: round((1 - seq.ops_s / seqRaw.ops_s) * 100, 1),
      // The call layer alone: the same procedure through the layer against raw driver SQL.
      layer_overhead_pct: round((1 - seq.ops_s / mergeRounds(results[1]!.rawNoop).ops_s) * 100, 1),
      layer_overhead_concurrent16_pct: round(
        (1 - conc.ops_s / mergeRounds(results[16]!.rawNoop).ops_s) * 100,
        1,
      ),
    });
  } finally {
    await os.close();
    await db.close();
  }
}

function summary(fs: Figures[]): string {
  const m = mergeRounds(fs);
  return `${m.ops_s} ops/s p50 ${m.p50_ms} ms p99 ${m.p99_ms} ms`;
}
