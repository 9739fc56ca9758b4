// Queue: N no-op jobs, enqueue to done, TableOS against graphile-worker 0.17 (same Postgres,
// its own database) and BullMQ (local Redis, started here if it is not running).
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import { report, round } from './support/stats.js';

const REDIS = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };

async function tableos(url: string, n: number): Promise<number> {
  const os = await TableOS.open({ databaseUrl: url, logger: silentLogger, poolSize: 8 });
  try {
    const s = os.scheduler;
    s.register('noop', () => undefined);
    await s.queue('bench');
    await s.start({ capacity: 500, pollMs: 5000 });
    const t0 = performance.now();
    const handles = await Promise.all(
      Array.from({ length: n }, (_, i) => s.enqueue('bench', 'noop', { i })),
    );
    await Promise.all(handles.map((h) => h.result()));
    const ms = performance.now() - t0;
    const [row] = await os.sql<
      { n: number }[]
    >`select count(*)::int n from tableos.task where state = 'done'`;
    if (row?.n !== n) throw new Error(`tableos finished ${row?.n} of ${n} jobs`);
    return (n / ms) * 1000;
  } finally {
    await os.close();
  }
}

async function graphile(url: string, n: number): Promise<number> {
  const logger = new Logger(() => () => undefined);
  const utils = await makeWorkerUtils({ connectionString: url, logger });
  await utils.migrate();
  let done = 0;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((r) => (finish = r));
  const runner = await run({
    connectionString: url,
    concurrency: 10,
    noHandleSignals: true,
    pollInterval: 1000,
    logger,
    taskList: { noop: () => Promise.resolve() },
  });
  runner.events.on('job:success', () => {
    if (++done === n) finish();
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    await utils.addJobs(
      Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
        identifier: 'noop',
        payload: { i: i + j },
      })),
    );
  }
  await all;
  const ms = performance.now() - t0;
  await runner.stop();
  await utils.release();
  return (n / ms) * 1000;
}

async function ensureRedis(): Promise<void> {
  const up = () =>
    new Promise<boolean>((r) => {
      const s = net.connect(REDIS.port, REDIS.host, () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
  if (await up()) return;
  spawnSync('redis-server', [
    '--port',
    String(REDIS.port),
    '--bind',
    REDIS.host,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'yes',
  ]);
  for (let i = 0; i < 50 && !(await up()); i++) await new Promise((r) => setTimeout(r, 100));
}

async function bullmq(n: number): Promise<number> {
  await ensureRedis();
  const name = `tableos-bench-${process.pid}`;
  const queue = new Queue(name, { connection: new Redis(REDIS) });
  let done = 0;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((r) => (finish = r));
  const worker = new Worker(name, () => Promise.resolve(), {
    connection: new Redis(REDIS),
    concurrency: 50,
  });
  worker.on('completed', () => {
    if (++done === n) finish();
  });
  await worker.waitUntilReady();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
        name: 'noop',
        data: { i: i + j },
      })),
    );
  }
  await all;
  const ms = performance.now() - t0;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return (n / ms) * 1000;
}

export async function main(args: string[]): Promise<void> {
  const n = Number(args[0] ?? 20_000);
  const db = await benchDatabase();
  try {
    const peerUrl = await db.create('graphile');
    const t = await tableos(db.url, n);
    console.log(`tableos: ${round(t)} jobs/s`);
    const g = await graphile(peerUrl, n);
    console.log(`graphile-worker 0.17: ${round(g)} jobs/s`);
    const b = await bullmq(n);
    console.log(`bullmq (redis, no persistence): ${round(b)} jobs/s`);
    report({
      bench: 'queue',
      jobs: n,
      tableos: { ops_s: round(t) },
      peer: { name: 'graphile-worker 0.17', ops_s: round(g) },
      ratio: round(t / g, 2),
      peer2: { name: 'bullmq 6.7 (redis)', ops_s: round(b) },
      ratio_bullmq: round(t / b, 2),
    });
  } finally {
    await db.close();
  }
}
