// The chaos run, shared by the CI test and `npm run chaos`: bank workers run planned
// transfers while the controller SIGKILLs workers and terminates every database backend but
// its own, at random intervals; then everything is let finish and the effects are counted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { TableOS } from '../../src/index.js';
import { createBank, publishPlan, type PlannedTransfer } from './bank.js';
import { count, progress, type Counts } from './checks.js';
import { WorkerPool, type Crash, type Spawner } from './workers.js';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

export interface ChaosOptions {
  /** A migrated or empty database of its own (TableOS.open migrates it). */
  databaseUrl: string;
  /** Length of the chaos. */
  seconds: number;
  spawn: Spawner;
  seed?: number;
  workers?: number;
  accounts?: number;
  balance?: number;
  /** Transfers started per second of chaos (default 20). */
  rate?: number;
  /** How long the runs get to finish after the chaos stops (default 20 s). */
  drainMs?: number;
  /** Progress lines, for a person watching. */
  progress?: (line: string) => void;
}

export interface ChaosReport extends Counts {
  chaos: {
    seconds: number;
    seed: number;
    workers: number;
    accounts: number;
    backendKillRounds: number;
    backendsTerminated: number;
    workerKills: number;
  };
  workerCrashes: number;
  crashes: Crash[];
  /** Failures the workers' driver and consumer loops retried past, by error. */
  retried: Record<string, Record<string, number>>;
  /** Whether everything finished before the drain deadline, and how long it took. */
  drained: boolean;
  drainMs: number;
}

/** Uniform in [0, 1), reproducible from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const between = (rand: () => number, lo: number, hi: number) =>
  Math.floor(lo + rand() * (hi - lo + 1));

/** Transfers due over the whole chaos, numbered in the order they fall due. */
export function plan(
  rand: () => number,
  o: { transfers: number; workers: number; accounts: number; chaosMs: number },
): PlannedTransfer[] {
  const due = Array.from({ length: o.transfers }, () => Math.floor(rand() * o.chaosMs));
  due.sort((a, b) => a - b);
  return due.map((dueMs, n) => {
    const from = between(rand, 1, o.accounts);
    const to = ((from + between(rand, 0, o.accounts - 2)) % o.accounts) + 1;
    return {
      n,
      id: `transfer-${String(n).padStart(6, '0')}`,
      slot: n % o.workers,
      from,
      to,
      amount: between(rand, 1, 100),
      pauseMs: between(rand, 0, 400),
      dueMs,
    };
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = prng(seed);
  const workers = o.workers ?? 3;
  const accounts = o.accounts ?? 50;
  const balance = o.balance ?? 1000;
  const chaosMs = Math.round(o.seconds * 1000);
  const drainMs = o.drainMs ?? 20_000;
  const say = o.progress ?? (() => undefined);
  const transfers = plan(rand, {
    transfers: Math.round((o.rate ?? 20) * o.seconds),
    workers,
    accounts,
    chaosMs,
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-chaos-'));
  const receipts = path.join(dir, 'receipts.log');
  fs.writeFileSync(receipts, '');
  const app = await TableOS.open({ databaseUrl: o.databaseUrl, executor: false, logLevel: 'warn' });
  try {
    await createBank(app, accounts, balance);
  } catch (err) {
    await app.close();
    throw err;
  }
  // The controller's own connection: the one backend the kills spare.
  const control = postgres(o.databaseUrl, { max: 1, onnotice: () => undefined });
  const pool = new WorkerPool(
    o.spawn,
    WORKER,
    (slot) => ({
      DATABASE_URL: o.databaseUrl,
      CHAOS_SLOT: String(slot),
      CHAOS_RECEIPTS: receipts,
      TABLEOS_LOG_LEVEL: 'warn',
    }),
    chaosMs + drainMs + 120_000,
  );
  const rounds = { backendKillRounds: 0, backendsTerminated: 0, workerKills: 0 };
  try {
    await pool.start(workers, 30_000);
    await publishPlan(app, transfers);
    await app.close();
    say(
      `${workers} workers ready; ${transfers.length} transfers over ${o.seconds} s; seed ${seed}`,
    );

    pool.phase = 'chaos';
    const end = Date.now() + chaosMs;
    const nap = () => pause(Math.min(between(rand, 1500, 4000), end - Date.now()));
    const killWorkers = async () => {
      for (await nap(); Date.now() < end; await nap()) if (pool.killOne(rand)) rounds.workerKills++;
    };
    const killBackends = async () => {
      for (await nap(); Date.now() < end; await nap()) {
        const [r] = await control<{ n: number }[]>`
          select count(*) filter (where t)::int n from (
            select pg_terminate_backend(pid) t from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid()) x`;
        rounds.backendKillRounds++;
        rounds.backendsTerminated += r!.n;
      }
    };
    await Promise.all([killWorkers(), killBackends()]);
    say(
      `chaos over: ${rounds.workerKills} worker kills, ${rounds.backendKillRounds} backend kills`,
    );

    // Everything started, nothing pending, every audit message consumed: or the deadline.
    pool.phase = 'drain';
    const drainStart = Date.now();
    let drained = false;
    while (!drained && Date.now() - drainStart < drainMs) {
      const p = await progress(control);
      drained = p.started >= transfers.length && p.pending === 0 && p.undrained === 0;
      if (!drained) await pause(200);
    }
    const drainTook = Date.now() - drainStart;
    say(drained ? `finished in ${drainTook} ms` : `not finished after ${drainMs} ms`);
    await pool.stop(10_000);

    const counts = await count(control, {
      planned: transfers.length,
      accounts,
      balance,
      receipts,
    });
    return {
      chaos: { seconds: o.seconds, seed, workers, accounts, ...rounds },
      ...counts,
      workerCrashes: pool.crashes.length,
      crashes: pool.crashes,
      retried: pool.retried,
      drained,
      drainMs: drainTook,
    };
  } finally {
    pool.killAll();
    await app.close().catch(() => undefined);
    await control.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The checks a run must pass; empty when it did. */
export function failedChecks(r: ChaosReport, minKillRounds: number): string[] {
  const w = r.workflows;
  const failed: string[] = [];
  const want = (ok: boolean, what: string) => {
    if (!ok) failed.push(what);
  };
  want(w.started === w.planned, `started ${w.started} of ${w.planned} workflows`);
  want(w.errored === 0, `${w.errored} workflows errored`);
  want(w.pending === 0, `${w.pending} workflows still pending`);
  want(w.other === 0, `${w.other} workflows cancelled or past their recovery cap`);
  want(r.procedureEffects.lost === 0, `${r.procedureEffects.lost} procedure effects lost`);
  want(
    r.procedureEffects.duplicated === 0,
    `${r.procedureEffects.duplicated} procedure effects duplicated`,
  );
  want(r.balances.conserved, `balances not conserved (${JSON.stringify(r.balances)})`);
  want(r.audit.missing === 0, `${r.audit.missing} audit messages missing`);
  want(r.audit.duplicated === 0, `${r.audit.duplicated} audit messages duplicated`);
  want(r.stepEffects.missing === 0, `${r.stepEffects.missing} successful runs without their step`);
  want(r.workerCrashes === 0, `${r.workerCrashes} worker crashes`);
  want(
    r.chaos.backendKillRounds >= minKillRounds,
    `only ${r.chaos.backendKillRounds} backend-kill rounds`,
  );
  want(r.chaos.workerKills >= minKillRounds, `only ${r.chaos.workerKills} worker kills`);
  return failed;
}
