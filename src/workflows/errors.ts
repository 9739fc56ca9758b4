// Workflow errors: one subclass per condition, each with a stable TABLEOS_WORKFLOW_* code.
import { TableOSError } from '../kernel/errors.js';
import { quotedName, registerRaisedErrors } from '../kernel/query.js';

/** The base of every workflow-service error. */
export class WorkflowError extends TableOSError {}

export class WorkflowNotFoundError extends WorkflowError {
  constructor(
    readonly workflowId: string,
    options?: { cause?: unknown },
  ) {
    super(
      'TABLEOS_WORKFLOW_NOT_FOUND',
      `no workflow with id ${JSON.stringify(workflowId)}`,
      options,
    );
  }
}

export class UnknownWorkflowError extends WorkflowError {
  constructor(readonly workflowName: string) {
    super(
      'TABLEOS_WORKFLOW_UNKNOWN',
      `no workflow named ${JSON.stringify(workflowName)} is registered in this process; register it with os.workflows.workflow() before starting or running it`,
    );
  }
}

export class WorkflowConflictError extends WorkflowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_WORKFLOW_CONFLICT', message, options);
  }
}

export class WorkflowArgumentError extends WorkflowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_WORKFLOW_BAD_ARGUMENT', message, options);
  }
}

export class WorkflowSerializationError extends WorkflowError {
  constructor(
    readonly what: string,
    detail: string,
  ) {
    super(
      'TABLEOS_WORKFLOW_NOT_SERIALIZABLE',
      `${what} cannot be stored: ${detail}. Use JSON values, Date, BigInt, Map, Set, Uint8Array or Error.`,
    );
  }
}

export class WorkflowPayloadTooLargeError extends WorkflowError {
  constructor(
    readonly what: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      'TABLEOS_WORKFLOW_PAYLOAD_TOO_LARGE',
      `${what} is ${bytes} bytes serialized, over the limit of ${limit} bytes; store large data elsewhere (e.g. a table or file) and pass its key`,
    );
  }
}

export class NotInWorkflowError extends WorkflowError {
  constructor(what: string) {
    super(
      'TABLEOS_WORKFLOW_OUTSIDE',
      `${what} can only be called inside a running workflow (through its context)`,
    );
  }
}

export class StepRetriesExhaustedError extends WorkflowError {
  constructor(
    readonly stepName: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      'TABLEOS_WORKFLOW_STEP_RETRIES_EXHAUSTED',
      `step ${stepName} failed ${attempts} times, its retry limit; last error: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

export class NonDeterminismError extends WorkflowError {
  constructor(
    readonly workflowId: string,
    readonly position: number,
    readonly recorded: string,
    readonly called: string,
  ) {
    super(
      'TABLEOS_WORKFLOW_NONDETERMINISM',
      `workflow ${workflowId} is not deterministic at position ${position}: the recorded history has ${recorded} there, but the code now calls ${called}. Fork the workflow from an earlier position to run it with the new code.`,
    );
  }
}

export class WorkflowCancelledError extends WorkflowError {
  constructor(readonly workflowId: string) {
    super('TABLEOS_WORKFLOW_CANCELLED', `workflow ${workflowId} was cancelled`);
  }
}

export class WorkflowTimeoutError extends WorkflowError {
  constructor(readonly workflowId: string) {
    super(
      'TABLEOS_WORKFLOW_TIMEOUT',
      `workflow ${workflowId} ran past its deadline and was cancelled`,
    );
  }
}

export class WorkflowResultTimeoutError extends WorkflowError {
  constructor(
    readonly workflowId: string,
    readonly timeoutMs: number,
  ) {
    super(
      'TABLEOS_WORKFLOW_RESULT_TIMEOUT',
      `workflow ${workflowId} did not finish within ${timeoutMs} ms (it keeps running; wait again or check its status)`,
    );
  }
}

export class WorkflowNotExecutorError extends WorkflowError {
  constructor(what: string) {
    super(
      'TABLEOS_WORKFLOW_NOT_EXECUTOR',
      `${what} needs an executor; this TableOS was opened with { executor: false }. Use start(..., { enqueue: true }) or a TableOSClient to create work for executors.`,
    );
  }
}

/** Resuming a run that already succeeded; fork it to run it again. */
export class WorkflowFinishedError extends WorkflowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_WORKFLOW_FINISHED', message, options);
  }
}

/** The executor running a workflow stopped (closed or shut down) before the run ended here. */
export class WorkflowShutdownError extends WorkflowError {
  constructor(message: string) {
    super('TABLEOS_WORKFLOW_SHUTDOWN', message);
  }
}

/**
 * A run was recovered more often than its cap (its executors kept dying). tableos.wf_claim
 * records it as the run's error, with the message; the run's result rejects with this class.
 */
export class WorkflowRecoveryLimitError extends WorkflowError {
  constructor(message: string) {
    super('TABLEOS_WORKFLOW_RECOVERY_LIMIT', message);
  }
}

/**
 * A non-TableOS error as read back from a workflow's records (what a workflow or step threw),
 * with the recorded name, message, code and stack; also what a thrown non-Error value
 * (`throw 'x'`) is recorded as.
 */
export class RecordedError extends Error {
  declare code?: unknown;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Error';
  }
}

registerRaisedErrors({
  TABLEOS_WORKFLOW_NOT_FOUND: (r) =>
    new WorkflowNotFoundError(quotedName(r.message) ?? '', { cause: r.query }),
  TABLEOS_WORKFLOW_FINISHED: (r) => new WorkflowFinishedError(r.message, { cause: r.query }),
  TABLEOS_WORKFLOW_BAD_ARGUMENT: (r) => new WorkflowArgumentError(r.message, { cause: r.query }),
  TABLEOS_WORKFLOW_CONFLICT: (r) => new WorkflowConflictError(r.message, { cause: r.query }),
});
