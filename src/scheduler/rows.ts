// The scheduler's rows as the database returns them, and their mapping to the public shapes:
// one function per row type, applied where the rows come back.
import type { CronInfo, PolicyInfo, QueueInfo, TaskInfo, TaskState, WorkerInfo } from './types.js';

export interface TaskRow {
  id: string;
  queue: string;
  kind: string;
  payload: unknown;
  priority: number;
  state: TaskState;
  run_at: Date;
  memory_mb: number;
  locality_key: string | null;
  partition_key: string | null;
  dedup_key: string | null;
  idempotency_key: string | null;
  worker_id: string | null;
  executor_id: string | null;
  attempts: number;
  max_attempts: number;
  result: unknown;
  error: string | null;
  cron_name: string | null;
  cron_tick: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface WorkerRow {
  id: string;
  seq: string;
  executor_id: string;
  partition: number;
  capacity: number;
  running: number;
  mem_total_mb: number | null;
  mem_free_mb: number | null;
  shards: string[];
  kinds: string[] | null;
  status: 'alive' | 'stopped' | 'dead';
  started_at: Date;
  ended_at: Date | null;
}

export interface QueueRow {
  name: string;
  policy: string;
  partition: number;
  paused: boolean;
  concurrency: number | null;
  per_executor: number | null;
  per_key: number | null;
  rate_limit: number | null;
  rate_period_ms: number | null;
  running: number;
  created_at: Date;
}

export type PolicyRow = PolicyInfo;

export interface CronRow {
  name: string;
  expr: string;
  tz: string;
  queue: string;
  kind: string;
  payload: unknown;
  backfill: boolean;
  paused: boolean;
  next_at: Date;
  last_tick: Date | null;
  created_at: Date;
}

export function toTask(r: TaskRow): TaskInfo {
  return {
    id: r.id,
    queue: r.queue,
    kind: r.kind,
    payload: r.payload,
    priority: r.priority,
    state: r.state,
    runAt: r.run_at,
    memoryMb: r.memory_mb,
    localityKey: r.locality_key,
    partitionKey: r.partition_key,
    dedupKey: r.dedup_key,
    idempotencyKey: r.idempotency_key,
    workerId: r.worker_id,
    executorId: r.executor_id,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    result: r.result,
    error: r.error,
    cronName: r.cron_name,
    cronTick: r.cron_tick,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export function toWorker(r: WorkerRow): WorkerInfo {
  return {
    id: r.id,
    seq: r.seq,
    executorId: r.executor_id,
    partition: r.partition,
    capacity: r.capacity,
    running: r.running,
    memTotalMb: r.mem_total_mb,
    memFreeMb: r.mem_free_mb,
    shards: r.shards,
    kinds: r.kinds,
    status: r.status,
    startedAt: r.started_at,
    endedAt: r.ended_at,
  };
}

export function toQueue(r: QueueRow): QueueInfo {
  return {
    name: r.name,
    policy: r.policy,
    partition: r.partition,
    paused: r.paused,
    concurrency: r.concurrency,
    perExecutor: r.per_executor,
    perKey: r.per_key,
    rateLimit:
      r.rate_limit === null || r.rate_period_ms === null
        ? null
        : { count: r.rate_limit, periodMs: r.rate_period_ms },
    running: r.running,
    createdAt: r.created_at,
  };
}

export function toPolicy(r: PolicyRow): PolicyInfo {
  return { name: r.name, fn: r.fn, description: r.description };
}

export function toCron(r: CronRow): CronInfo {
  return {
    name: r.name,
    expr: r.expr,
    tz: r.tz,
    queue: r.queue,
    kind: r.kind,
    payload: r.payload,
    backfill: r.backfill,
    paused: r.paused,
    nextAt: r.next_at,
    lastTick: r.last_tick,
    createdAt: r.created_at,
  };
}
