// HTTP gateway errors: one subclass per condition, each with a stable TABLEOS_HTTP_* code and
// the HTTP status it is answered with.
import { InvalidArgumentError, TableOSError, type ErrorCode } from '../kernel/errors.js';

/** The base of every HTTP gateway error; `status` is the HTTP status of its problem response. */
export class HttpError extends TableOSError {
  constructor(
    code: ErrorCode,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A route declared wrongly (no body schema, bad path, declared twice or after the server started). */
export class HttpRouteError extends HttpError {
  constructor(message: string) {
    super('TABLEOS_HTTP_BAD_ROUTE', 500, message);
  }
}

/** A request that failed its schema; `field` names the first failing field (`body.qty`). */
export class HttpValidationError extends HttpError {
  constructor(
    readonly field: string,
    message: string,
    readonly errors: readonly { field: string; message: string }[] = [{ field, message }],
    options?: { cause?: unknown },
  ) {
    super('TABLEOS_HTTP_INVALID_REQUEST', 400, message, options);
  }
}

/** A malformed request that no schema describes (bad JSON, a bad Idempotency-Key, a bad wait). */
export class HttpBadRequestError extends HttpError {
  constructor(
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super('TABLEOS_HTTP_BAD_REQUEST', 400, message, options);
  }
}

export class HttpRouteNotFoundError extends HttpError {
  constructor(method: string, url: string) {
    super('TABLEOS_HTTP_NOT_FOUND', 404, `no route for ${method} ${url}`);
  }
}

export class HttpBodyTooLargeError extends HttpError {
  constructor(readonly limit: number) {
    super(
      'TABLEOS_HTTP_BODY_TOO_LARGE',
      413,
      `the request body is larger than the limit of ${limit} bytes (option http.bodyLimit)`,
    );
  }
}

export class HttpUnsupportedMediaTypeError extends HttpError {
  constructor(contentType: string | undefined) {
    super(
      'TABLEOS_HTTP_UNSUPPORTED_MEDIA_TYPE',
      415,
      `content type ${JSON.stringify(contentType ?? '')} is not accepted; send application/json`,
    );
  }
}

/** An Idempotency-Key used again with a different request. */
export class HttpKeyReusedError extends HttpError {
  constructor(
    readonly key: string,
    readonly runId: string,
  ) {
    super(
      'TABLEOS_HTTP_KEY_REUSED',
      422,
      `Idempotency-Key ${JSON.stringify(key)} was first used with a different request; use a new key for a new request`,
    );
  }
}

/** The node is shutting down: it finishes the requests it has and takes no new ones. */
export class HttpDrainingError extends HttpError {
  constructor() {
    super(
      'TABLEOS_HTTP_DRAINING',
      503,
      'this node is shutting down and takes no new requests; retry against another node',
    );
  }
}

/** The database is out of reach or its schema is behind: /readyz answers with this. */
export class HttpNotReadyError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_HTTP_NOT_READY', 503, message, options);
  }
}

/** The run behind a request ended in an error that is not the client's. */
export class HttpRunFailedError extends HttpError {
  constructor(
    readonly runId: string,
    readonly runStatus: string,
    cause: unknown,
  ) {
    super(
      'TABLEOS_HTTP_RUN_FAILED',
      500,
      `run ${runId} ended as ${runStatus}; GET /runs/${encodeURIComponent(runId)} has its error`,
      { cause },
    );
  }
}

/** The server could not start listening (port in use, address not available). */
export class HttpListenError extends HttpError {
  constructor(address: string, options: { cause: unknown }) {
    super(
      'TABLEOS_HTTP_LISTEN',
      500,
      `cannot listen on ${address}: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}; choose another with TABLEOS_HTTP_PORT / TABLEOS_HTTP_HOST or the http options`,
      options,
    );
  }
}

/** A run's output that does not match its route's response schema: the route's code is wrong. */
export class HttpResponseSchemaError extends HttpError {
  constructor(
    readonly runId: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'TABLEOS_HTTP_BAD_RESPONSE',
      500,
      `the output of run ${runId} does not match the route's response schema: ${detail}`,
      options,
    );
  }
}

/**
 * Thrown by a route's workflow or procedure to answer its request with a client or server
 * status of its own (`throw new HttpStatusError(409, 'sku-3 is sold out', { code: 'SOLD_OUT' })`):
 * the run ends in that error, recorded like any other, and every request for the run (a retry
 * with the same Idempotency-Key too) gets that status as a problem with the code and detail.
 */
export class HttpStatusError extends HttpError {
  constructor(
    status: number,
    detail: string,
    options?: { code?: string; cause?: unknown; runId?: string },
  ) {
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new InvalidArgumentError(
        `an HttpStatusError needs a status from 400 to 599, got ${String(status)}`,
      );
    const code = options?.code ?? 'TABLEOS_HTTP_STATUS';
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(code))
      throw new InvalidArgumentError(
        `an HttpStatusError code is 1-64 capital letters, digits and _, starting with a letter; got ${JSON.stringify(code)}`,
      );
    super(code, status, detail, options);
    if (options?.runId !== undefined) this.runId = options.runId;
  }

  /** The run that ended in this error, when the gateway answers for it. */
  runId?: string;
}

/** A console form posted without the HX-Request header htmx sends: refused, so another site cannot make a browser post one (CSRF). */
export class HttpForbiddenError extends HttpError {
  constructor(message: string) {
    super('TABLEOS_HTTP_FORBIDDEN', 403, message);
  }
}
