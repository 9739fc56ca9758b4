// Workflow errors: one subclass per condition, each with a stable TABLEOS_WORKFLOW_* code.
import { TableOSError } from '../kernel/errors.js';

export class WorkflowNotFoundError extends TableOSError {
  constructor(readonly workflowId: string) {
    super('TABLEOS_WORKFLOW_NOT_FOUND', `no workflow with id ${JSON.stringify(workflowId)}`);
  }
}

export class UnknownWorkflowError extends TableOSError {
  constructor(readonly workflowName: string) {
    super(
      'TABLEOS_WORKFLOW_UNKNOWN',
      `no workflow named ${JSON.stringify(workflowName)} is registered in this process; register it with os.workflows.workflow() before starting or running it`,
    );
  }
}

export class WorkflowConflictError extends TableOSError {
  constructor(message: string) {
    super('TABLEOS_WORKFLOW_CONFLICT', message);
  }
}

export class WorkflowArgumentError extends TableOSError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_WORKFLOW_BAD_ARGUMENT', message, options);
  }
}

export class WorkflowSerializationError extends TableOSError {
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

export class WorkflowPayloadTooLargeError extends TableOSError {
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

export class NotInWorkflowError extends TableOSError {
  constructor(what: string) {
    super(
      'TABLEOS_WORKFLOW_OUTSIDE',
      `${what} can only be called inside a running workflow (through its context)`,
    );
  }
}

export class StepRetriesExhaustedError extends TableOSError {
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

export class NonDeterminismError extends TableOSError {
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

export class WorkflowCancelledError extends TableOSError {
  constructor(readonly workflowId: string) {
    super('TABLEOS_WORKFLOW_CANCELLED', `workflow ${workflowId} was cancelled`);
  }
}

export class WorkflowTimeoutError extends TableOSError {
  constructor(readonly workflowId: string) {
    super(
      'TABLEOS_WORKFLOW_TIMEOUT',
      `workflow ${workflowId} ran past its deadline and was cancelled`,
    );
  }
}

export class WorkflowResultTimeoutError extends TableOSError {
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

export class WorkflowNotExecutorError extends TableOSError {
  constructor(what: string) {
    super(
      'TABLEOS_WORKFLOW_NOT_EXECUTOR',
      `${what} needs an executor; this TableOS was opened with { executor: false }. Use start(..., { enqueue: true }) or a TableOSClient to create work for executors.`,
    );
  }
}
