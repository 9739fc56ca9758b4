// The scheduler's stored procedures as typed calls: one statement, one round trip each.
// Batches travel as text arrays cast on the server, so NULL elements keep their meaning.
import type { Sql } from '../kernel/database.js';
import { queryRows } from '../kernel/query.js';
import './errors.js'; // registers the codes the procedures raise
import { toCron, toQueue, toTask, type CronRow, type QueueRow, type TaskRow } from './rows.js';
import type { CronInfo, QueueInfo, TaskInfo } from './types.js';

type Param = string | number | boolean | null | Date | (string | null)[];

const run = <Row>(sql: Sql, name: string, text: string, params: Param[]): Promise<Row[]> =>
  queryRows<Row>(sql, name, text, params);

const tasks = async (rows: Promise<TaskRow[]>): Promise<TaskInfo[]> => (await rows).map(toTask);

export interface EnqueueRow {
  queue: string;
  kind: string;
  payload: string | null;
  priority: number | null;
  runAt: string | null;
  memoryMb: number | null;
  localityKey: string | null;
  partitionKey: string | null;
  dedupKey: string | null;
  maxAttempts: number | null;
  /** Names the task in its queue for good: the same key again returns the same task. */
  idempotencyKey?: string | null;
}

export interface Enqueued {
  ord: number;
  id: string;
  /** The task was there before this statement. */
  existed: boolean;
  /** It was found by its idempotency key (else, when existed, by a live task's dedup key). */
  byKey: boolean;
}

const col = <K extends keyof EnqueueRow>(rows: EnqueueRow[], k: K) =>
  rows.map((r) => (r[k] === null || r[k] === undefined ? null : String(r[k])));

export async function enqueueBatch(sql: Sql, rows: EnqueueRow[]): Promise<Enqueued[]> {
  const out = await run<{ ord: number; id: string; existed: boolean; by_key: boolean }>(
    sql,
    'tableos.sched_enqueue',
    `select * from tableos.sched_enqueue($1::text[], $2::text[], $3::text[]::jsonb[], $4::text[]::int[],
       $5::text[]::timestamptz[], $6::text[]::int[], $7::text[], $8::text[], $9::text[], $10::text[]::int[],
       $11::text[])`,
    [
      col(rows, 'queue'),
      col(rows, 'kind'),
      col(rows, 'payload'),
      col(rows, 'priority'),
      col(rows, 'runAt'),
      col(rows, 'memoryMb'),
      col(rows, 'localityKey'),
      col(rows, 'partitionKey'),
      col(rows, 'dedupKey'),
      col(rows, 'maxAttempts'),
      col(rows, 'idempotencyKey'),
    ],
  );
  return out
    .map((r) => ({ ord: r.ord, id: r.id, existed: r.existed, byKey: r.by_key }))
    .sort((a, b) => a.ord - b.ord);
}

/**
 * A claim: the number a statement that starts tasks on this executor stamps them with, and
 * whether this run is a retry of it (then it also returns what the claim took before).
 */
export interface Claim {
  claim: string | null;
  retry: boolean;
}

const NO_CLAIM: Claim = { claim: null, retry: false };

export function next(
  sql: Sql,
  executor: string,
  dispatch: boolean,
  c: Claim = NO_CLAIM,
): Promise<TaskInfo[]> {
  return tasks(
    run(sql, 'tableos.sched_next', 'select * from tableos.sched_next($1, $2, $3::bigint, $4)', [
      executor,
      dispatch,
      c.claim,
      c.retry,
    ]),
  );
}

export function poll(sql: Sql, executor: string, c: Claim = NO_CLAIM): Promise<TaskInfo[]> {
  return tasks(
    run(sql, 'tableos.sched_poll', 'select * from tableos.sched_poll($1, $2::bigint, $3)', [
      executor,
      c.claim,
      c.retry,
    ]),
  );
}

export interface Outcome {
  id: string;
  /** JSON text of the result, or null. */
  result: string | null;
  /** Error message when the handler failed. */
  error: string | null;
  /** The attempt this outcome is for; a later attempt of the task is left alone. */
  attempts?: number;
}

export function complete(
  sql: Sql,
  executor: string,
  outcomes: Outcome[],
  c: Claim = NO_CLAIM,
): Promise<TaskInfo[]> {
  return tasks(
    run(
      sql,
      'tableos.sched_complete',
      `select * from tableos.sched_complete($1, $2::text[]::bigint[], $3::text[], $4::text[]::jsonb[],
       $5::text[]::int[], $6::bigint, $7)`,
      [
        executor,
        outcomes.map((o) => o.id),
        outcomes.map((o) => o.error),
        outcomes.map((o) => o.result),
        outcomes.map((o) => (o.attempts === undefined ? null : String(o.attempts))),
        c.claim,
        c.retry,
      ],
    ),
  );
}

export function registerWorker(
  sql: Sql,
  executor: string,
  partition: number,
  capacity: number,
  memoryMb: number | null,
  shards: string[],
  kinds: string[] | null,
  c: Claim = NO_CLAIM,
): Promise<TaskInfo[]> {
  return tasks(
    run(
      sql,
      'tableos.sched_worker_register',
      'select * from tableos.sched_worker_register($1, $2, $3, $4, $5::text[], $6::text[], $7::bigint, $8)',
      [executor, partition, capacity, memoryMb, shards, kinds, c.claim, c.retry],
    ),
  );
}

export async function setWorkerKinds(sql: Sql, executor: string, kinds: string[]): Promise<void> {
  await run(
    sql,
    'tableos.sched_worker_kinds',
    'select tableos.sched_worker_kinds($1, $2::text[])',
    [executor, kinds],
  );
}

export async function releaseWorkers(sql: Sql, executor: string): Promise<number> {
  const [r] = await run<{ n: number }>(
    sql,
    'tableos.sched_worker_release',
    'select tableos.sched_worker_release($1) as n',
    [executor],
  );
  return r?.n ?? 0;
}

export async function reclaim(sql: Sql): Promise<number> {
  const [r] = await run<{ n: number }>(
    sql,
    'tableos.sched_reclaim',
    'select tableos.sched_reclaim() as n',
    [],
  );
  return r?.n ?? 0;
}

export async function upsertQueue(
  sql: Sql,
  name: string,
  o: {
    policy: string | null;
    partition: number | null;
    concurrency: number | null;
    perExecutor: number | null;
    perKey: number | null;
    rateLimit: number | null;
    ratePeriodMs: number | null;
  },
): Promise<QueueInfo> {
  const [r] = await run<QueueRow>(
    sql,
    'tableos.sched_queue_upsert',
    'select * from tableos.sched_queue_upsert($1, $2, $3, $4, $5, $6, $7, $8)',
    [
      name,
      o.policy,
      o.partition,
      o.concurrency,
      o.perExecutor,
      o.perKey,
      o.rateLimit,
      o.ratePeriodMs,
    ],
  );
  return toQueue(r!);
}

export async function one<Row>(
  sql: Sql,
  fn: string,
  params: Param[],
  casts: string[] = [],
): Promise<Row> {
  const args = params.map((_, i) => `$${i + 1}${casts[i] ?? ''}`).join(', ');
  const [r] = await run<Row>(sql, fn, `select * from ${fn}(${args})`, params);
  return r!;
}

export const getQueue = async (sql: Sql, name: string): Promise<QueueInfo> =>
  toQueue(await one<QueueRow>(sql, 'tableos.sched_queue_get', [name]));
export const pauseQueue = async (sql: Sql, name: string, paused: boolean): Promise<QueueInfo> =>
  toQueue(await one<QueueRow>(sql, 'tableos.sched_queue_pause', [name, paused]));
export const setPolicy = async (sql: Sql, queue: string, policy: string): Promise<QueueInfo> =>
  toQueue(await one<QueueRow>(sql, 'tableos.sched_queue_policy', [queue, policy]));
export const getTask = async (sql: Sql, id: string): Promise<TaskInfo> =>
  toTask(await one<TaskRow>(sql, 'tableos.sched_task_get', [id], ['::bigint']));
export const cancelTask = async (sql: Sql, id: string): Promise<TaskInfo> =>
  toTask(await one<TaskRow>(sql, 'tableos.sched_cancel', [id], ['::bigint']));
export const getCron = async (sql: Sql, name: string): Promise<CronInfo> =>
  toCron(await one<CronRow>(sql, 'tableos.sched_cron_get', [name]));
export const removeCron = async (sql: Sql, name: string): Promise<CronInfo> =>
  toCron(await one<CronRow>(sql, 'tableos.sched_cron_remove', [name]));
