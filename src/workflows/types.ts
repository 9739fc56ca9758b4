// What users register: procedures (transactions), steps (external effects) and workflows.
import type { TransactionSql } from '../kernel/database.js';
import type { WorkflowContext } from './context.js';

export type Isolation = 'read committed' | 'repeatable read' | 'serializable';

export interface ProcedureOptions {
  /** Transaction isolation level (default read committed). */
  isolation?: Isolation;
  /** How often a serialization failure or deadlock is retried, with backoff (default 10). */
  maxRetries?: number;
}

export interface StepOptions {
  /** Retries after the first failure (default 0: a failure is recorded and thrown at once). */
  retries?: number;
  /** Delay before the first retry (default 100 ms); multiplied by backoffFactor each time. */
  backoffMs?: number;
  backoffFactor?: number;
  maxBackoffMs?: number;
}

export interface WorkflowOptions {
  /** How many times a crashed run may be taken over before it ends as max_recovery_exceeded (default 10). */
  maxRecoveryAttempts?: number;
  /** Default deadline for each run, in ms from its start. */
  timeoutMs?: number;
}

export interface StartOptions {
  /** Idempotency key: starting the same id again returns the same run. Default: a random UUID. */
  id?: string;
  /** Cancel the run (and its children) if it has not finished this many ms after it starts. */
  timeoutMs?: number;
  /** Create the row as 'enqueued' without running it; a dispatcher runs it later via executeById. */
  enqueue?: boolean;
}

export type ProcedureFn<A extends unknown[], R> = (tx: TransactionSql, ...args: A) => Promise<R>;
export type StepFn<A extends unknown[], R> = (...args: A) => Promise<R>;
export type WorkflowFn<A extends unknown[], R> = (ctx: WorkflowContext, ...args: A) => Promise<R>;

export interface ProcedureDef<A extends unknown[] = unknown[], R = unknown> {
  readonly kind: 'procedure';
  readonly name: string;
  readonly fn: ProcedureFn<A, R>;
  readonly options: ProcedureOptions;
}

export interface StepDef<A extends unknown[] = unknown[], R = unknown> {
  readonly kind: 'step';
  readonly name: string;
  readonly fn: StepFn<A, R>;
  readonly options: StepOptions;
}

export interface WorkflowDef<A extends unknown[] = unknown[], R = unknown> {
  readonly kind: 'workflow';
  readonly name: string;
  readonly fn: WorkflowFn<A, R>;
  readonly options: WorkflowOptions;
}

export type Callable<A extends unknown[], R> =
  ProcedureDef<A, R> | StepDef<A, R> | WorkflowDef<A, R>;

export type WorkflowStatus =
  'enqueued' | 'pending' | 'success' | 'error' | 'cancelled' | 'max_recovery_exceeded';

export const TERMINAL: ReadonlySet<string> = new Set([
  'success',
  'error',
  'cancelled',
  'max_recovery_exceeded',
]);

/** How a run ended, as this process knows it. */
export type Outcome =
  | { status: 'success'; value: unknown }
  | { status: Exclude<WorkflowStatus, 'success' | 'pending' | 'enqueued'>; error: Error };

export function outcomeValue(o: Outcome): unknown {
  if (o.status === 'success') return o.value;
  throw o.error;
}
