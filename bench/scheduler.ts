// Scheduler, after the paper's Figure 2: (a) schedule-only (assign and complete, no work)
// throughput and p50/p99 scheduling latency at increasing offered load; (b) maximum
// throughput with 1, 2, 4, 8 partitions. Peer: a plain PL/pgSQL FIFO procedure, one task per
// call, 16 clients, on the same server. Latency is from a task's intended submit time to the
// durable commit of its placement (open loop, so queueing delay is counted).
import postgres from 'postgres';
import { silentLogger } from '../src/kernel/logger.js';
import { Batcher, type BatcherOptions } from '../src/kernel/batcher.js';
import * as proc from '../src/scheduler/procedures.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import { percentile, report, round } from './support/stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Partition {
  submit: Batcher<proc.EnqueueRow, proc.Enqueued>;
  complete: Batcher<proc.Outcome, void>;
}

async function setup(os: TableOS, partitions: number): Promise<Partition[]> {
  const out: Partition[] = [];
  for (let p = 0; p < partitions; p++) {
    const exec = `bench-${p}`;
    await os.sql`select tableos.executor_register(${exec}, 'bench', 1, 'x', 3600000)`;
    await proc.registerWorker(os.sql, exec, p, 1_000_000, null, [], null);
    await os.sql`select tableos.sched_queue_upsert(${`q${p}`}, 'fifo', ${p}, null, null, null, null, null)`;
    const opts: BatcherOptions = { maxBatch: 2000, gather: 'none', regather: false };
    const complete = Batcher.of<proc.Outcome, void>(async (outs) => {
      await proc.complete(os.sql, exec, outs);
      return outs.map(() => undefined);
    }, opts);
    const submit = Batcher.of((rows: proc.EnqueueRow[]) => proc.enqueueBatch(os.sql, rows), {
      ...opts,
      maxInFlight: 2,
    });
    out.push({ submit, complete });
  }
  return out;
}

const row = (p: number): proc.EnqueueRow => ({
  queue: `q${p}`,
  kind: 'k',
  payload: null,
  priority: null,
  runAt: null,
  memoryMb: null,
  localityKey: null,
  partitionKey: null,
  dedupKey: null,
  maxAttempts: null,
});

/** Submits one task, then hands it to its worker's completion; resolves at placement. */
function scheduleOne(parts: Partition[], i: number, done: { n: number }): Promise<void> {
  const p = i % parts.length;
  const part = parts[p]!;
  return part.submit.push(row(p)).then(({ id }) => {
    void part.complete.push({ id, result: null, error: null }).then(() => void done.n++);
  });
}

async function offered(parts: Partition[], rate: number, ms: number) {
  const lat: number[] = [];
  const done = { n: 0 };
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < ms) {
    const due = Math.floor(((performance.now() - t0) * rate) / 1000);
    for (; sent < due; sent++) {
      const intended = t0 + (sent * 1000) / rate;
      pending.push(
        scheduleOne(parts, sent, done).then(() => void lat.push(performance.now() - intended)),
      );
    }
    await sleep(1);
  }
  await Promise.all(pending);
  for (const p of parts) await p.complete.drained();
  const elapsed = performance.now() - t0;
  lat.sort((a, b) => a - b);
  return {
    offered: rate,
    ops_s: round((done.n / elapsed) * 1000),
    p50_ms: round(percentile(lat, 50), 3),
    p99_ms: round(percentile(lat, 99), 3),
  };
}

async function maxThroughput(parts: Partition[], ms: number, inFlight: number) {
  const done = { n: 0 };
  const t0 = performance.now();
  let i = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() - t0 < ms) await scheduleOne(parts, i++, done);
    }),
  );
  for (const p of parts) await p.complete.drained();
  return round((done.n / (performance.now() - t0)) * 1000);
}

async function plainFifo(url: string, ms: number): Promise<number> {
  const sql = postgres(url, { max: 16, onnotice: () => undefined });
  await sql.unsafe(`
    create table worker (id int primary key, capacity int not null, running int not null default 0);
    create table task (id bigserial primary key, state text not null, worker int);
    insert into worker (id, capacity) select g, 1000000 from generate_series(1, 16) g;
    create function schedule() returns bigint language plpgsql as $$
    declare w int; t bigint;
    begin
      select id into w from worker where running < capacity order by id limit 1 for update;
      insert into task (state, worker) values ('running', w) returning id into t;
      update worker set running = running + 1 where id = w;
      return t;
    end $$;
    create function complete(p bigint) returns void language plpgsql as $$
    declare w int;
    begin
      update task set state = 'done' where id = p returning worker into w;
      update worker set running = running - 1 where id = w;
    end $$;`);
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() - t0 < ms) {
        const [r] = await sql<{ t: string }[]>`select schedule() as t`;
        await sql`select complete(${r!.t})`;
        n++;
      }
    }),
  );
  const rate = (n / (performance.now() - t0)) * 1000;
  await sql.end();
  return round(rate);
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 2);
  const ms = seconds * 1000;
  const db = await benchDatabase();
  try {
    const peer = await plainFifo(await db.create('plain'), ms);
    console.log(`plain PL/pgSQL FIFO, 16 clients: ${peer} tasks/s`);
    const byPartitions: Record<string, number> = {};
    for (const p of [1, 2, 4, 8]) {
      const url = await db.create(`p${p}`);
      const os = await TableOS.open({
        databaseUrl: url,
        logger: silentLogger,
        executor: false,
        poolSize: 16,
      });
      const parts = await setup(os, p);
      await maxThroughput(parts, 300, 512);
      byPartitions[p] = await maxThroughput(parts, ms, 1024);
      console.log(`partitions ${p}: ${byPartitions[p]} tasks/s`);
      await os.close();
    }
    const best = Math.max(...Object.values(byPartitions));
    const bestP = Number(Object.keys(byPartitions).find((k) => byPartitions[k] === best));
    // The latency curve runs on two partitions (one per core here), at fractions of their maximum.
    const curveP = 2;
    const curveMax = byPartitions[curveP]!;
    const url = await db.create('curve');
    const os = await TableOS.open({
      databaseUrl: url,
      logger: silentLogger,
      executor: false,
      poolSize: 16,
    });
    const parts = await setup(os, curveP);
    await offered(parts, 2000, 300);
    const curve = [];
    for (const f of [0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.2]) {
      const r = await offered(parts, Math.round(curveMax * f), ms);
      curve.push(r);
      console.log(
        `offered ${r.offered}/s: ${r.ops_s} tasks/s p50 ${r.p50_ms} ms p99 ${r.p99_ms} ms`,
      );
    }
    await os.close();
    const half = curve[2]!;
    report({
      bench: 'scheduler',
      tableos: {
        ops_s: best,
        p50_ms: half.p50_ms,
        p99_ms: half.p99_ms,
        partitions: bestP,
        latency_at_offered: half.offered,
        latency_partitions: curveP,
      },
      peer: { name: 'plain PL/pgSQL FIFO procedure, 16 clients', ops_s: peer },
      ratio: round(best / peer, 2),
      max_by_partitions: byPartitions,
      curve,
    });
  } finally {
    await db.close();
  }
}
