// What the scheduler's calls return (camelCase, mapped from the rows in rows.ts) and the
// options of its operations.
import type { Logger } from '../kernel/logger.js';

export type TaskState = 'queued' | 'assigned' | 'running' | 'done' | 'failed' | 'cancelled';

/** A task, as the scheduler's calls return it. */
export interface TaskInfo {
  /** int8, as a decimal string. */
  id: string;
  queue: string;
  kind: string;
  payload: unknown;
  priority: number;
  state: TaskState;
  runAt: Date;
  memoryMb: number;
  localityKey: string | null;
  partitionKey: string | null;
  dedupKey: string | null;
  idempotencyKey: string | null;
  workerId: string | null;
  executorId: string | null;
  attempts: number;
  maxAttempts: number;
  result: unknown;
  error: string | null;
  cronName: string | null;
  cronTick: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** One executor's slots in one partition. */
export interface WorkerInfo {
  id: string;
  seq: string;
  executorId: string;
  partition: number;
  capacity: number;
  running: number;
  memTotalMb: number | null;
  memFreeMb: number | null;
  shards: string[];
  kinds: string[] | null;
  status: 'alive' | 'stopped' | 'dead';
  startedAt: Date;
  endedAt: Date | null;
}

export interface QueueInfo {
  name: string;
  policy: string;
  partition: number;
  paused: boolean;
  concurrency: number | null;
  perExecutor: number | null;
  perKey: number | null;
  rateLimit: { count: number; periodMs: number } | null;
  /** Tasks of the queue assigned or running now. */
  running: number;
  createdAt: Date;
}

export interface PolicyInfo {
  name: string;
  fn: string;
  description: string;
}

export interface CronInfo {
  name: string;
  expr: string;
  tz: string;
  queue: string;
  kind: string;
  payload: unknown;
  backfill: boolean;
  paused: boolean;
  nextAt: Date;
  lastTick: Date | null;
  createdAt: Date;
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
export type TaskHandler = (payload: any, task: TaskInfo, ctx: TaskContext) => unknown;

/** What a task's handler gets besides its payload and row. */
export interface TaskContext {
  /** The scheduler's logger with the task's id, queue and kind on every line. */
  readonly log: Logger;
}
