// Scheduler errors. The stored procedures name the condition in the error's DETAIL; callers
// get the matching class.
import { QueryError, TableOSError } from '../kernel/errors.js';

export type SchedulerErrorCode =
  | 'TABLEOS_SCHED_INVALID'
  | 'TABLEOS_SCHED_UNKNOWN_QUEUE'
  | 'TABLEOS_SCHED_UNKNOWN_POLICY'
  | 'TABLEOS_SCHED_UNKNOWN_TASK'
  | 'TABLEOS_SCHED_UNKNOWN_CRON'
  | 'TABLEOS_SCHED_EXECUTOR_NOT_ALIVE'
  | 'TABLEOS_SCHED_BUSY'
  | 'TABLEOS_SCHED_TASK_FAILED'
  | 'TABLEOS_SCHED_NOT_EXECUTOR';

export class SchedulerError extends TableOSError {
  declare readonly code: SchedulerErrorCode;
  constructor(code: SchedulerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Bad input: a value of the wrong type or range; nothing was changed. */
export class SchedulerInvalidError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_SCHED_INVALID', message, options);
  }
}

export class UnknownQueueError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_SCHED_UNKNOWN_QUEUE', message, options);
  }
}

export class UnknownPolicyError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_SCHED_UNKNOWN_POLICY', message, options);
  }
}

export class UnknownTaskError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_SCHED_UNKNOWN_TASK', message, options);
  }
}

export class UnknownCronError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_SCHED_UNKNOWN_CRON', message, options);
  }
}

export class ExecutorNotAliveError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_SCHED_EXECUTOR_NOT_ALIVE', message, options);
  }
}

/** The operation conflicts with work in progress (e.g. cancelling a running task). */
export class SchedulerBusyError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_SCHED_BUSY', message, options);
  }
}

/** A task ended in state failed (or was cancelled); `error` is what its handler threw. */
export class TaskFailedError extends SchedulerError {
  constructor(
    readonly taskId: string,
    readonly state: string,
    readonly error: string | null,
  ) {
    super('TABLEOS_SCHED_TASK_FAILED', `task ${taskId} ${state}: ${error ?? 'no error recorded'}`);
  }
}

/** Work that needs an executor (running handlers) was asked of a client-only node. */
export class NotExecutorError extends SchedulerError {
  constructor(message: string) {
    super('TABLEOS_SCHED_NOT_EXECUTOR', message);
  }
}

const classes: Record<string, new (m: string, o?: { cause?: unknown }) => SchedulerError> = {
  TABLEOS_SCHED_INVALID: SchedulerInvalidError,
  TABLEOS_SCHED_UNKNOWN_QUEUE: UnknownQueueError,
  TABLEOS_SCHED_UNKNOWN_POLICY: UnknownPolicyError,
  TABLEOS_SCHED_UNKNOWN_TASK: UnknownTaskError,
  TABLEOS_SCHED_UNKNOWN_CRON: UnknownCronError,
  TABLEOS_SCHED_EXECUTOR_NOT_ALIVE: ExecutorNotAliveError,
  TABLEOS_SCHED_BUSY: SchedulerBusyError,
};

/** Turns a procedure's coded failure into its scheduler error; anything else passes through. */
export function schedulerError(err: unknown): unknown {
  if (!(err instanceof QueryError)) return err;
  const pg = err.cause as { detail?: unknown; message?: unknown } | undefined;
  const cls = typeof pg?.detail === 'string' ? classes[pg.detail] : undefined;
  if (cls === undefined) return err;
  return new cls(typeof pg?.message === 'string' ? pg.message : err.message, { cause: err });
}
