// Serverless errors. The dag_* procedures raise them with their code (tableos.raise_error);
// graph checks made before the statement throw the same classes.
import { TableOSError } from '../kernel/errors.js';
import { registerRaisedErrors } from '../kernel/query.js';

export type DagErrorCode =
  | 'TABLEOS_DAG_INVALID'
  | 'TABLEOS_DAG_UNKNOWN_FUNCTION'
  | 'TABLEOS_DAG_CYCLE'
  | 'TABLEOS_DAG_MISSING_NODE'
  | 'TABLEOS_DAG_MEMORY'
  | 'TABLEOS_DAG_TOO_LARGE'
  | 'TABLEOS_DAG_CONFLICT'
  | 'TABLEOS_DAG_NOT_FOUND'
  | 'TABLEOS_DAG_BAD_OUTPUT'
  | 'TABLEOS_DAG_FAILED'
  | 'TABLEOS_DAG_CANCELLED'
  | 'TABLEOS_DAG_TIMED_OUT'
  | 'TABLEOS_DAG_RESULT_TIMEOUT';

export class DagError extends TableOSError {
  declare readonly code: DagErrorCode;
  constructor(code: DagErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Bad input of another kind (a malformed node, a bad option); nothing was submitted. */
export class DagInvalidError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_DAG_INVALID', message, options);
  }
}

/** A node names a function nobody registered with os.serverless.fn. */
export class DagUnknownFunctionError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_DAG_UNKNOWN_FUNCTION', message, options);
  }
}

/** The edges make a cycle; `nodes` are the nodes on it, in order. */
export class DagCycleError extends DagError {
  constructor(
    readonly nodes: string[],
    options?: { cause?: unknown },
  ) {
    super(
      'TABLEOS_DAG_CYCLE',
      `the graph has a cycle: ${[...nodes, nodes[0]].join(' -> ')}; a graph must be acyclic`,
      options,
    );
  }
}

/** An edge names a node the graph does not have. */
export class DagMissingNodeError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_DAG_MISSING_NODE', message, options);
  }
}

/** A node asks for more memory than any worker offers. */
export class DagMemoryError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_DAG_MEMORY', message, options);
  }
}

/** More nodes than a graph may have (MAX_DAG_NODES, or the service's maxNodes). */
export class DagTooLargeError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_DAG_TOO_LARGE', message, options);
  }
}

/** The id was submitted before with another graph. */
export class DagConflictError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_DAG_CONFLICT', message, options);
  }
}

export class DagNotFoundError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_DAG_NOT_FOUND', message, options);
  }
}

/** A node returned a value that cannot be stored as JSON; the node fails without retries. */
export class DagOutputError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_DAG_BAD_OUTPUT', message, options);
  }
}

/** result() of a dag that failed: `error` names the node and what it threw. */
export class DagFailedError extends DagError {
  constructor(
    readonly dagId: string,
    readonly error: string | null,
  ) {
    super('TABLEOS_DAG_FAILED', `dag ${dagId} failed: ${error ?? 'no error recorded'}`);
  }
}

export class DagCancelledError extends DagError {
  constructor(readonly dagId: string) {
    super('TABLEOS_DAG_CANCELLED', `dag ${dagId} was cancelled`);
  }
}

export class DagTimedOutError extends DagError {
  constructor(readonly dagId: string) {
    super('TABLEOS_DAG_TIMED_OUT', `dag ${dagId} did not finish within its timeout`);
  }
}

/** result({ timeoutMs }) gave up waiting; the dag goes on. */
export class DagResultTimeoutError extends DagError {
  constructor(dagId: string, ms: number) {
    super('TABLEOS_DAG_RESULT_TIMEOUT', `dag ${dagId} had not finished after ${ms} ms`);
  }
}

const raised: Record<string, new (m: string, o: { cause: unknown }) => DagError> = {
  TABLEOS_DAG_INVALID: DagInvalidError,
  TABLEOS_DAG_MEMORY: DagMemoryError,
  TABLEOS_DAG_TOO_LARGE: DagTooLargeError,
  TABLEOS_DAG_CONFLICT: DagConflictError,
  TABLEOS_DAG_NOT_FOUND: DagNotFoundError,
};

registerRaisedErrors(
  Object.fromEntries(
    Object.entries(raised).map(([code, cls]) => [
      code,
      (r) => new cls(r.message, { cause: r.query }),
    ]),
  ),
);
