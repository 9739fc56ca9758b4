// Rows of the scheduler's tables and the options of its operations.

export type TaskState = 'queued' | 'assigned' | 'running' | 'done' | 'failed' | 'cancelled';

export interface TaskRow {
  /** int8, as a decimal string. */
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
  worker_id: string | null;
  executor_id: string | null;
  attempts: number;
  max_attempts: number;
  result: unknown;
  error: string | null;
  cron_name: string | null;
  cron_tick: Date | null;
  idempotency_key: string | null;
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

export interface PolicyRow {
  name: string;
  fn: string;
  description: string;
}

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

export interface QueueOptions {
  /** Placement policy (default fifo; kept when updating and not given). */
  policy?: string;
  /** Scheduler partition the queue's tasks are placed in (default 0). */
  partition?: number;
  /** Most tasks of this queue assigned or running at once, over all executors. */
  concurrency?: number | null;
  /** Most tasks of this queue running on any one executor. */
  perExecutor?: number | null;
  /** Most tasks running per partition key (tenant), so one key cannot take every slot. */
  perKey?: number | null;
  /** At most `count` task starts in each window of `periodMs`. */
  rateLimit?: { count: number; periodMs: number } | null;
}

export interface EnqueueOptions {
  /** Higher runs first (default 0). */
  priority?: number;
  /** Run no earlier than this many milliseconds from now. */
  delayMs?: number;
  /** Run no earlier than this time. */
  runAt?: Date;
  /** While a task with this key is queued or running in the queue, enqueue returns that task. */
  dedupKey?: string;
  /** Memory the task may use; it is placed only on a worker with that much free. */
  memoryMb?: number;
  /** Data shard the task reads; the locality policy prefers a worker holding it. */
  localityKey?: string;
  /** Tenant (or other fairness key) for the queue's per-key concurrency. */
  partitionKey?: string;
  /** Runs of the handler before the task counts as failed (default 1). */
  maxAttempts?: number;
  /**
   * Names the task in its queue for good: enqueuing the same key again (at any time, in any
   * state) returns that task instead of making another. Without one, a key made by the client
   * still makes a retry after a lost connection return the task its first attempt made.
   */
  idempotencyKey?: string;
}

export interface WorkerOptions {
  /** Tasks this executor runs at once, per partition (default 10). */
  capacity?: number;
  /** Memory offered to tasks; unset = not accounted. */
  memoryMb?: number;
  /** Data shards held here, for the locality policy. */
  shards?: string[];
  /** Partitions served (default [0]). */
  partitions?: number[];
  /** Slow-poll interval when no notification arrives (default 5000 ms). */
  pollMs?: number;
  /** Grace for running handlers at stop before their tasks are re-queued (default 10000 ms). */
  drainMs?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskHandler = (payload: any, task: TaskRow) => unknown;
