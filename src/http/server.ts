// The fastify instance of a gateway: zod validation, OpenAPI, problem-details errors, the
// drain gate, the built-in routes, /runs and the declared routes.
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VERSION } from '../kernel/version.js';
import { registerBuiltins } from './builtin.js';
import type { GatewayApp, GatewayContext } from './context.js';
import { HttpDrainingError, HttpRouteNotFoundError } from './errors.js';
import { header, serveRun } from './handlers.js';
import { sanitize } from './idempotency.js';
import { classify, problemBody, PROBLEM_TYPE } from './problem.js';
import type { RouteDef } from './routes.js';
import { runResponses } from './responses.js';
import { registerRuns } from './runs.js';
import { registerMetrics } from './metrics.js';
import { registerConsole } from '../console/routes.js';
import type { ConsoleContext } from '../console/context.js';
import type { Workflow } from '../workflows/registry.js';

/** Headers every run route documents (and reads). */
const runHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .optional()
    .describe('makes the request safe to retry: the same key runs once and gets the same answer'),
  prefer: z.string().optional().describe('respond-async: answer 202 with Location at once'),
});

export interface ServerParts {
  ctx: GatewayContext;
  routes: readonly RouteDef[];
  /** The workflow a route starts: its own, or the one that wraps its procedure. */
  workflowOf(route: RouteDef): Workflow<unknown[], unknown>;
  /** Prefix under which every registered workflow is served (POST <prefix>/<name>). */
  exposed: string | undefined;
  /** The web console's context; undefined when the console is off. */
  console: ConsoleContext | undefined;
  /** Called on each request's start and end: the drain waits for in-flight requests. */
  track: { begin(req: FastifyRequest): void; end(req: FastifyRequest): void };
}

export function sendProblem(
  ctx: GatewayContext,
  err: unknown,
  req: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const { error, status } = classify(err, {
    bodyLimit: ctx.config.bodyLimit,
    contentType: header(req, 'content-type'),
  });
  if (status >= 500 && status !== 503)
    ctx.log.error({ err, method: req.method, url: req.url }, 'request failed');
  if (ctx.isDraining()) reply.header('connection', 'close');
  return reply
    .code(status)
    .type(PROBLEM_TYPE)
    .send(problemBody(error, status, req.url.split('?')[0] ?? req.url));
}

export async function buildServer(p: ServerParts): Promise<GatewayApp> {
  const { ctx } = p;
  const app = Fastify({
    bodyLimit: ctx.config.bodyLimit,
    loggerInstance: ctx.log,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: any other body is 415.
  app.removeContentTypeParser('text/plain');
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'TableOS node', version: VERSION },
    },
    transform: jsonSchemaTransform,
  });
  app.addHook('onRequest', (req, reply, done) => {
    if (ctx.isDraining()) {
      sendProblem(ctx, new HttpDrainingError(), req, reply);
      return;
    }
    p.track.begin(req);
    done();
  });
  app.addHook('onResponse', (req, _reply, done) => {
    p.track.end(req);
    done();
  });
  app.addHook('onRequestAbort', (req, done) => {
    p.track.end(req);
    done();
  });
  app.setErrorHandler((err, req, reply) => sendProblem(ctx, err, req, reply));
  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      ctx,
      new HttpRouteNotFoundError(req.method, req.url.split('?')[0] ?? ''),
      req,
      reply,
    ),
  );
  registerBuiltins(app, ctx);
  registerRuns(app, ctx);
  registerMetrics(app, ctx.kernel);
  if (p.console !== undefined) registerConsole(app, p.console);
  const typed = app.withTypeProvider<ZodTypeProvider>();
  for (const route of p.routes) {
    const workflow = p.workflowOf(route);
    typed.route({
      method: route.method,
      url: route.path,
      schema: {
        ...(route.summary !== undefined ? { summary: route.summary } : {}),
        ...(route.description !== undefined ? { description: route.description } : {}),
        tags: route.tags ?? ['routes'],
        headers: runHeaders,
        ...(route.body !== undefined ? { body: route.body } : {}),
        ...(route.params !== undefined ? { params: route.params } : {}),
        ...(route.query !== undefined ? { querystring: route.query } : {}),
        response: {
          ...(route.response !== undefined ? { 200: route.response } : {}),
          ...runResponses(),
        },
      },
      handler: (req, reply) => {
        const input = { body: req.body, params: req.params, query: req.query };
        return serveRun(ctx, req, reply, {
          workflow,
          args: route.args(input),
          input,
          idPrefix: route.idPrefix,
          response: route.response,
        });
      },
    });
  }
  if (p.exposed !== undefined) exposeWorkflows(app, ctx, p.exposed);
  await app.ready();
  return app;
}

/** Names of the workflows the gateway registers for procedure routes: not served by name. */
export const PROCEDURE_WORKFLOW_PREFIX = 'http.procedure.';

function exposeWorkflows(app: GatewayApp, ctx: GatewayContext, prefix: string): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    `${prefix}/:name`,
    {
      schema: {
        summary:
          'starts the registered workflow named; an array body is its arguments, an object its one argument',
        tags: ['workflows'],
        headers: runHeaders,
        params: z.object({ name: z.string().min(1).max(200) }),
        body: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]),
        response: runResponses(),
      },
    },
    // The answer is sent by serveRun (its type is not the schemas' union, hence no return).
    async (req, reply) => {
      const { name } = req.params;
      const body: unknown = req.body;
      if (name.startsWith(PROCEDURE_WORKFLOW_PREFIX))
        throw new HttpRouteNotFoundError(req.method, req.url.split('?')[0] ?? '');
      await serveRun(ctx, req, reply, {
        workflow: name,
        args: Array.isArray(body) ? body : [body],
        input: { body, params: req.params, query: req.query },
        idPrefix: `http:wf.${sanitize(name)}`.slice(0, 200),
        response: undefined,
      });
    },
  );
}
