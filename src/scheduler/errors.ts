// Scheduler errors. The stored procedures raise them with their code (tableos.raise_error);
// callers get the matching class.
import { TableOSError } from '../kernel/errors.js';
import { registerRaisedErrors } from '../kernel/query.js';

export type SchedulerErrorCode =
  | 'TABLEOS_SCHED_INVALID'
  | 'TABLEOS_SCHED_UNKNOWN_QUEUE'
  | 'TABLEOS_SCHED_UNKNOWN_POLICY'
  | 'TABLEOS_SCHED_UNKNOWN_TASK'
  | 'TABLEOS_SCHED_UNKNOWN_CRON'
  | 'TABLEOS_SCHED_EXECUTOR_NOT_ALIVE'
  | 'TABLEOS_SCHED_BUSY'
  | 'TABLEOS_SCHED_TASK_FAILED'
  | 'TABLEOS_SCHED_NOT_EXECUTOR'
  | 'TABLEOS_SCHED_BAD_POLICY_CHOICE'
  | 'TABLEOS_SCHED_BAD_RESULT';

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

/** A placement policy returned a worker that was not among the candidates it was given. */
export class PolicyChoiceError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_SCHED_BAD_POLICY_CHOICE', message, options);
  }
}

/** A task handler returned a value that cannot be stored as its JSON result. */
export class TaskResultError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_SCHED_BAD_RESULT', message, options);
  }
}

const raised: Record<string, new (m: string, o: { cause: unknown }) => SchedulerError> = {
  TABLEOS_SCHED_INVALID: SchedulerInvalidError,
  TABLEOS_SCHED_UNKNOWN_QUEUE: UnknownQueueError,
  TABLEOS_SCHED_UNKNOWN_POLICY: UnknownPolicyError,
  TABLEOS_SCHED_UNKNOWN_TASK: UnknownTaskError,
  TABLEOS_SCHED_UNKNOWN_CRON: UnknownCronError,
  TABLEOS_SCHED_EXECUTOR_NOT_ALIVE: ExecutorNotAliveError,
  TABLEOS_SCHED_BUSY: SchedulerBusyError,
  TABLEOS_SCHED_BAD_POLICY_CHOICE: PolicyChoiceError,
};

registerRaisedErrors(
  Object.fromEntries(
    Object.entries(raised).map(([code, cls]) => [
      code,
      (r) => new cls(r.message, { cause: r.query }),
    ]),
  ),
);
