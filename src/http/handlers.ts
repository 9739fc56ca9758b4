// Serving a declared route: validate (done by fastify), claim the Idempotency-Key, start the
// run, and answer with its output, its failure, or (Prefer: respond-async) where to find it.
import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { faultPoint } from '../kernel/fault.js';
import { contextOf, inSpan, rememberParent, SpanKind, traceparentOf } from '../kernel/tracing.js';
import type { Workflow } from '../workflows/registry.js';
import { runPath, type GatewayContext } from './context.js';
import { HttpResponseSchemaError, HttpRunFailedError, HttpStatusError } from './errors.js';
import { claimKey, requestHash, runIdFor } from './idempotency.js';
import { toJson } from './json.js';
import type { HttpRequestInput, RouteDef } from './routes.js';

/** The header value of a single-valued header, or undefined. */
export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** RFC 7240: `Prefer: respond-async` (among other preferences). */
export function prefersAsync(req: FastifyRequest): boolean {
  const v = header(req, 'prefer');
  return v !== undefined && /(^|[,;\s])respond-async(\s*($|[,;]))/i.test(v);
}

export interface RunRequest {
  /** The workflow to start (a route's workflow, or the one wrapping its procedure). */
  workflow: Workflow<unknown[], unknown> | string;
  args: unknown[];
  input: HttpRequestInput;
  idPrefix: string;
  response: RouteDef['response'];
}

/**
 * Starts (or finds, by Idempotency-Key) the run of one request and answers with it, inside a
 * server span whose parent is the request's `traceparent`; the run starts under that span.
 */
export function serveRun(
  ctx: GatewayContext,
  req: FastifyRequest,
  reply: FastifyReply,
  r: RunRequest,
): Promise<FastifyReply> {
  const route = req.routeOptions.url ?? req.url;
  return inSpan(
    `${req.method} ${route}`,
    {
      kind: SpanKind.SERVER,
      parent: contextOf(header(req, 'traceparent')),
      attributes: { 'http.request.method': req.method, 'http.route': route },
    },
    async (span, traced) => {
      const res = await startAndAnswer(ctx, req, reply, r, traced);
      span.setAttribute('http.response.status_code', reply.statusCode);
      return res;
    },
  );
}

async function startAndAnswer(
  ctx: GatewayContext,
  req: FastifyRequest,
  reply: FastifyReply,
  r: RunRequest,
  traced: ReturnType<typeof contextOf>,
): Promise<FastifyReply> {
  const key = header(req, 'idempotency-key');
  let id: string | undefined;
  if (key !== undefined) {
    id = runIdFor(r.idPrefix, key);
    await claimKey(ctx.kernel, { id, route: r.idPrefix, hash: requestHash(r.input), key });
    faultPoint('http:key-claimed');
  }
  if (traceparentOf(traced) !== null) {
    // Traced: the run is named now, so that it starts as a child of the request's span.
    id ??= crypto.randomUUID();
    rememberParent(id, traced);
  }
  const handle = await ctx.workflows.start(r.workflow, r.args, id === undefined ? {} : { id });
  faultPoint('http:run-started');
  const runId = handle.workflowId;
  const location = runPath(runId);
  reply.header('tableos-run-id', runId);
  if (prefersAsync(req)) {
    return reply
      .code(202)
      .header('location', location)
      .header('preference-applied', 'respond-async')
      .send({ id: runId, location });
  }
  const outcome = await ctx.workflows.waitOutcome(runId);
  if (outcome.status !== 'success') throw failureOf(runId, outcome.status, outcome.error);
  let value: unknown = toJson(outcome.value);
  if (r.response !== undefined) {
    const parsed = r.response.safeParse(value);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new HttpResponseSchemaError(
        runId,
        first === undefined
          ? 'invalid'
          : `${['output', ...first.path].join('.')}: ${first.message}`,
        { cause: parsed.error },
      );
    }
    value = toJson(parsed.data);
  }
  return reply
    .code(200)
    .header('content-location', location)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(value));
}

/**
 * What a run that did not succeed answers: the status its code chose (an HttpStatusError it
 * threw, as recorded), else 500 with the run's id.
 */
export function failureOf(runId: string, status: string, error: Error): Error {
  const e = error as Error & { status?: unknown; code?: unknown };
  if (
    status === 'error' &&
    e.name === 'HttpStatusError' &&
    typeof e.status === 'number' &&
    Number.isInteger(e.status) &&
    e.status >= 400 &&
    e.status <= 599
  ) {
    return new HttpStatusError(e.status, e.message, {
      ...(typeof e.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(e.code)
        ? { code: e.code }
        : {}),
      cause: error,
      runId,
    });
  }
  return new HttpRunFailedError(runId, status, error);
}
