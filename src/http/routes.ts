// Route declarations: what os.http.post/get/put/delete accept, checked when declared.
import type { z } from 'zod';
import type { Procedure, Workflow } from '../workflows/registry.js';
import { HttpRouteError } from './errors.js';
import { checkPrefix, routePrefix } from './idempotency.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a route runs: a registered workflow, or an exactly-once procedure (run as a one-call workflow). */
export type HttpTarget<A extends unknown[], R> = Workflow<A, R> | Procedure<A, R>;

/** The validated parts of a request, as a route's `args` sees them. */
export interface HttpRequestInput<B = unknown, P = unknown, Q = unknown> {
  body: B;
  params: P;
  query: Q;
}

interface CommonRouteOptions {
  /** Schema of the path parameters (`/orders/:id` -> `z.object({ id: z.string() })`). */
  params?: z.ZodType;
  /** Schema of the query string. */
  query?: z.ZodType;
  /** Schema of the 200 response (the run's output); also what /openapi.json shows. */
  response?: z.ZodType;
  /** Prefix of the run ids made from Idempotency-Key (default `http:<method><path>`, e.g. `http:post.orders`). */
  idPrefix?: string;
  summary?: string;
  description?: string;
  tags?: string[];
}

export interface BodyRouteOptions<
  B extends z.ZodType,
  A extends unknown[],
> extends CommonRouteOptions {
  /** Schema of the JSON body: required for POST and PUT. */
  body: B;
  /** The run's arguments from the request (default: `[body]`). */
  args?: (input: HttpRequestInput<z.output<B>>) => [...NoInfer<A>];
}

export interface QueryRouteOptions<A extends unknown[]> extends CommonRouteOptions {
  /** The run's arguments from the request (default: `[{ ...query, ...params }]`). */
  args?: (input: HttpRequestInput<undefined>) => [...NoInfer<A>];
}

/** A route as the gateway keeps it. */
export interface RouteDef {
  method: HttpMethod;
  path: string;
  target: HttpTarget<unknown[], unknown>;
  body: z.ZodType | undefined;
  params: z.ZodType | undefined;
  query: z.ZodType | undefined;
  response: z.ZodType | undefined;
  args: (input: HttpRequestInput) => unknown[];
  idPrefix: string;
  summary: string | undefined;
  description: string | undefined;
  tags: string[] | undefined;
}

/** Paths the gateway serves itself. */
export const RESERVED = [
  '/healthz',
  '/readyz',
  '/openapi.json',
  '/docs',
  '/runs',
  '/metrics',
  '/console',
];

const PATH = /^\/[A-Za-z0-9._~:@!$&'()+,;=/-]*$/;

function isSchema(v: unknown): v is z.ZodType {
  return typeof (v as { safeParse?: unknown } | undefined)?.safeParse === 'function';
}

export function makeRoute(
  method: HttpMethod,
  path: unknown,
  target: unknown,
  opts: (CommonRouteOptions & { body?: unknown; args?: unknown }) | undefined,
): RouteDef {
  const what = `route ${method} ${String(path)}`;
  if (typeof path !== 'string' || !PATH.test(path) || path.includes('//'))
    throw new HttpRouteError(
      `${what}: the path must start with / and hold only URL path characters (parameters as :name), got ${JSON.stringify(path)}`,
    );
  if (RESERVED.some((r) => path === r || path.startsWith(`${r}/`)))
    throw new HttpRouteError(`${what}: ${path} is served by the gateway itself`);
  const kind = (target as { kind?: unknown } | undefined)?.kind;
  if (kind !== 'workflow' && kind !== 'procedure')
    throw new HttpRouteError(
      `${what}: the handler must be a workflow (os.workflows.workflow) or a procedure (os.workflows.procedure)`,
    );
  const o = opts ?? {};
  const hasBody = method === 'POST' || method === 'PUT';
  if (hasBody && o.body === undefined)
    throw new HttpRouteError(
      `${what} has no body schema: give { body: z.object({...}) } so each request is validated (use z.object({}) for an empty body)`,
    );
  if (!hasBody && o.body !== undefined)
    throw new HttpRouteError(`${what}: ${method} requests carry no body; use query or params`);
  for (const k of ['body', 'params', 'query', 'response'] as const) {
    if (o[k] !== undefined && !isSchema(o[k]))
      throw new HttpRouteError(`${what}: ${k} must be a zod schema`);
  }
  if (o.args !== undefined && typeof o.args !== 'function')
    throw new HttpRouteError(`${what}: args must be a function of the request`);
  const idPrefix = o.idPrefix ?? routePrefix(method, path);
  if (!checkPrefix(idPrefix))
    throw new HttpRouteError(
      `${what}: idPrefix must be 1-253 characters of letters, digits and . _ : @ / + = -, got ${JSON.stringify(idPrefix)}`,
    );
  const args =
    (o.args as ((input: HttpRequestInput) => unknown[]) | undefined) ??
    (hasBody
      ? (i: HttpRequestInput) => [i.body]
      : (i: HttpRequestInput) => [{ ...(i.query as object), ...(i.params as object) }]);
  return {
    method,
    path,
    target: target as HttpTarget<unknown[], unknown>,
    body: o.body as z.ZodType | undefined,
    params: o.params,
    query: o.query,
    response: o.response,
    args,
    idPrefix,
    summary: o.summary,
    description: o.description,
    tags: o.tags,
  };
}
