// Every error the gateway answers is an RFC 9457 problem (application/problem+json) whose
// `code` is the TableOS error code; this module decides the status and the body.
import { STATUS_CODES } from 'node:http';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { TableOSError } from '../kernel/errors.js';
import {
  HttpBadRequestError,
  HttpBodyTooLargeError,
  HttpError,
  HttpRunFailedError,
  HttpUnsupportedMediaTypeError,
  HttpValidationError,
} from './errors.js';

export const PROBLEM_TYPE = 'application/problem+json';

export interface Problem {
  /** `urn:tableos:error:<code>`: one type per TableOS error code. */
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request path the problem is about. */
  instance: string;
  code: string;
  /** For 400: the first failing field (`body.qty`, `query.wait`, `header.idempotency-key`). */
  field?: string;
  errors?: { field: string; message: string }[];
  /** For a failed run (500) and a reused key (422): the run behind the request. */
  runId?: string;
  runStatus?: string;
}

/** Statuses of the errors of other services that reach the gateway. */
const STATUS_BY_CODE: Record<string, number> = {
  TABLEOS_WORKFLOW_NOT_FOUND: 404,
  TABLEOS_DAG_NOT_FOUND: 404,
  TABLEOS_WORKFLOW_UNKNOWN: 404,
  TABLEOS_WORKFLOW_BAD_ARGUMENT: 400,
  TABLEOS_WORKFLOW_NOT_SERIALIZABLE: 400,
  TABLEOS_INVALID_ARGUMENT: 400,
  TABLEOS_WORKFLOW_PAYLOAD_TOO_LARGE: 413,
  TABLEOS_WORKFLOW_CONFLICT: 409,
  TABLEOS_CLOSED: 503,
  TABLEOS_DATABASE_UNAVAILABLE: 503,
  TABLEOS_DATABASE_UNREACHABLE: 503,
};

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validationContext?: unknown;
}

/** What a thrown value means to a client: a TableOS error with a status. */
export function classify(
  err: unknown,
  ctx: { bodyLimit: number; contentType: string | undefined },
): { error: TableOSError; status: number } {
  if (err instanceof HttpError) return { error: err, status: err.status };
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = fieldRoot(err.validationContext);
    const errors = err.validation.map((v) => ({
      field: fieldName(where, v.instancePath),
      message: v.message ?? 'is invalid',
    }));
    const first = errors[0] ?? { field: where, message: 'is invalid' };
    return {
      error: new HttpValidationError(first.field, `${first.field}: ${first.message}`, errors, {
        cause: err,
      }),
      status: 400,
    };
  }
  if (err instanceof TableOSError) return { error: err, status: STATUS_BY_CODE[err.code] ?? 500 };
  const f = (err ?? {}) as FastifyLikeError;
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return { error: new HttpBodyTooLargeError(ctx.bodyLimit), status: 413 };
  if (f.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return { error: new HttpUnsupportedMediaTypeError(ctx.contentType), status: 415 };
  const status = typeof f.statusCode === 'number' ? f.statusCode : 500;
  if (status >= 400 && status < 500) {
    const message = typeof f.message === 'string' ? f.message : 'bad request';
    return { error: new HttpBadRequestError(message, undefined, { cause: err }), status: 400 };
  }
  return {
    error: new TableOSError('TABLEOS_INTERNAL', 'the request failed inside the node', {
      cause: err,
    }),
    status: 500,
  };
}

export function problemBody(error: TableOSError, status: number, instance: string): Problem {
  const p: Problem = {
    type: `urn:tableos:error:${error.code}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: error.message,
    instance,
    code: error.code,
  };
  if (error instanceof HttpValidationError) {
    p.field = error.field;
    p.errors = [...error.errors];
  } else if (error instanceof HttpBadRequestError && error.field !== undefined) {
    p.field = error.field;
  } else if (error instanceof HttpRunFailedError) {
    p.runId = error.runId;
    p.runStatus = error.runStatus;
  } else if ('runId' in error && typeof error.runId === 'string') {
    p.runId = error.runId;
  }
  return p;
}

function fieldRoot(context: unknown): string {
  switch (context) {
    case 'querystring':
      return 'query';
    case 'headers':
      return 'header';
    case 'params':
      return 'params';
    default:
      return 'body';
  }
}

/** `body` + `/items/0/sku` -> `body.items.0.sku`. */
function fieldName(root: string, instancePath: string | undefined): string {
  const parts = (instancePath ?? '').split('/').filter((s) => s !== '');
  return [root, ...parts.map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))].join('.');
}
