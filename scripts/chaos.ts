// npm run chaos -- [--seconds N] [--seed S] [--rate R]: the chaos run of test/chaos on its own
// database, on the server in DATABASE_URL or on a temporary embedded one. Prints one JSON line
// of counts; exits 1 when a check fails.
import crypto from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import postgres from 'postgres';
import { temporaryServer } from '../src/kernel/embedded/temporary-server.js';
import { failedChecks, runChaos } from '../test/chaos/harness.js';
import { startFixture } from '../test/support/process.js';

const number = (what: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${what} must be >= ${min}`);
  return n;
};

const opts = new Command('chaos')
  .description('transfers under worker kills and terminated backends; prints one JSON line')
  .option('--seconds <n>', 'length of the chaos', number('seconds', 1), 25)
  .option('--seed <n>', 'seed of the plan and the chaos (default: random)', number('seed', 0))
  .option('--rate <n>', 'transfers started per second', number('rate', 0.1), 20)
  .option('--workers <n>', 'worker processes', number('workers', 1), 3)
  .option('--drain <s>', 'seconds the runs get to finish after the chaos', number('drain', 1), 30)
  .parse()
  .opts<{ seconds: number; seed?: number; rate: number; workers: number; drain: number }>();

const server = await temporaryServer('tableos-chaos');
const admin = postgres(server.url, { max: 1, onnotice: () => undefined });
const db = `chaos_${crypto.randomBytes(6).toString('hex')}`;
let failed: string[] = ['did not run'];
try {
  await admin.unsafe(`create database ${db}`);
  const report = await runChaos({
    databaseUrl: server.urlFor(db),
    seconds: opts.seconds,
    rate: opts.rate,
    workers: Math.floor(opts.workers),
    drainMs: opts.drain * 1000,
    spawn: (file, opts) => startFixture(file, { ...opts, keepChars: 64 * 1024 }),
    progress: (line) => console.error(`chaos: ${line}`),
    ...(opts.seed === undefined ? {} : { seed: Math.floor(opts.seed) }),
  });
  failed = failedChecks(report, opts.seconds >= 15 ? 3 : 1);
  for (const c of report.crashes) console.error(`crash of worker ${c.slot}:`, c);
  for (const f of failed) console.error(`chaos: FAILED: ${f}`);
  console.log(JSON.stringify({ ...report, ok: failed.length === 0, failed }));
} finally {
  await admin.unsafe(`drop database if exists ${db} with (force)`).catch(() => undefined);
  await admin.end();
  await server.close();
}
process.exit(failed.length === 0 ? 0 : 1);
