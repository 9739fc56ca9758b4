// os.http: the HTTP gateway of a node. Routes start workflows (or exactly-once procedures),
// Idempotency-Key names the run, Prefer: respond-async answers 202 with /runs/{id}, and
// close drains: new requests get 503, in-flight ones finish, then the server closes.
import type { FastifyRequest, InjectOptions, LightMyRequestResponse } from 'fastify';
import { z } from 'zod';
import type { Kernel, Service } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import type { Workflow } from '../workflows/registry.js';
import type { Workflows } from '../workflows/service.js';
import type { FileSystem } from '../fs/file-system.js';
import type { GatewayApp, GatewayContext } from './context.js';
import { HttpListenError, HttpRouteError } from './errors.js';
import { httpConfig, type HttpConfig, type HttpOptions } from './options.js';
import {
  makeRoute,
  type BodyRouteOptions,
  type HttpMethod,
  type HttpTarget,
  type QueryRouteOptions,
  type RouteDef,
} from './routes.js';
import { buildServer, PROCEDURE_WORKFLOW_PREFIX } from './server.js';
import { ClosedError } from '../kernel/errors.js';

export class HttpGateway implements Service {
  readonly config: HttpConfig;
  private readonly log: Logger;
  private readonly routes: RouteDef[] = [];
  private readonly wrappers = new Map<unknown, Workflow<unknown[], unknown>>();
  private readonly inFlight = new Set<FastifyRequest>();
  private readonly ctx: GatewayContext;
  private exposed: string | undefined;
  private building: Promise<GatewayApp> | undefined;
  private app: GatewayApp | undefined;
  private address: string | undefined;
  private draining = false;
  private startDrain!: () => void;
  private onIdle: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    kernel: Kernel,
    private readonly workflows: Workflows,
    opts: HttpOptions = {},
    /** Services the console shows, made when a page first needs them. */
    private readonly services: { fs?: () => FileSystem } = {},
  ) {
    this.config = httpConfig(opts);
    this.log = kernel.logger('http');
    const drainStarted = new Promise<void>((resolve) => (this.startDrain = resolve));
    this.ctx = {
      kernel,
      workflows,
      config: this.config,
      log: this.log,
      drainStarted,
      isDraining: () => this.draining,
    };
  }

  /** How many routes are declared (`tableos start` serves HTTP when there is one). */
  get routeCount(): number {
    return this.routes.length + (this.exposed === undefined ? 0 : 1);
  }

  /** The routes declared so far, and the prefix every workflow is exposed under (if any). */
  declared(): { routes: readonly RouteDef[]; exposedPrefix: string | undefined } {
    return { routes: this.routes, exposedPrefix: this.exposed };
  }

  /** The address listened on (`http://127.0.0.1:8080`), once listen() resolved. */
  get url(): string | undefined {
    return this.address;
  }

  /** POST path: validates the JSON body with opts.body and runs fn with `[body]` (or opts.args). */
  post<B extends z.ZodType, A extends unknown[], R>(
    path: string,
    fn: HttpTarget<A, R>,
    opts: BodyRouteOptions<B, A>,
  ): this {
    return this.declare('POST', path, fn, opts);
  }

  put<B extends z.ZodType, A extends unknown[], R>(
    path: string,
    fn: HttpTarget<A, R>,
    opts: BodyRouteOptions<B, A>,
  ): this {
    return this.declare('PUT', path, fn, opts);
  }

  /** GET path: validates params and query and runs fn with `[{ ...query, ...params }]` (or opts.args). */
  get<A extends unknown[], R>(
    path: string,
    fn: HttpTarget<A, R>,
    opts: QueryRouteOptions<A> = {},
  ): this {
    return this.declare('GET', path, fn, opts);
  }

  delete<A extends unknown[], R>(
    path: string,
    fn: HttpTarget<A, R>,
    opts: QueryRouteOptions<A> = {},
  ): this {
    return this.declare('DELETE', path, fn, opts);
  }

  /** Serves every registered workflow as POST <prefix>/<name>; the body is its arguments (array) or its one argument (object). */
  exposeWorkflows(prefix = '/wf'): this {
    this.checkOpen(`exposeWorkflows(${prefix})`);
    const route = makeRoute(
      'POST',
      `${prefix}/:name`,
      { kind: 'workflow' },
      { body: z.object({}) },
    );
    if (this.exposed !== undefined)
      throw new HttpRouteError(`workflows are already exposed under ${this.exposed}`);
    this.exposed = route.path.slice(0, -'/:name'.length);
    return this;
  }

  /** Builds the server with the routes declared so far; later declarations are refused. */
  ready(): Promise<GatewayApp> {
    this.building ??= buildServer({
      ctx: this.ctx,
      routes: this.routes,
      exposed: this.exposed,
      workflowOf: (r) => this.workflowOf(r.target),
      console: this.config.console
        ? {
            kernel: this.ctx.kernel,
            workflows: this.workflows,
            fs: this.services.fs,
            sqlWrite: this.config.consoleSqlWrite,
            sqlTimeoutMs: this.config.consoleSqlTimeoutMs,
          }
        : undefined,
      track: {
        begin: (req) => this.inFlight.add(req),
        end: (req) => {
          this.inFlight.delete(req);
          if (this.inFlight.size === 0) this.onIdle?.();
        },
      },
    }).then((app) => (this.app = app));
    return this.building;
  }

  /** Answers one request in process, without a socket (fastify's inject): for tests. */
  async inject(opts: InjectOptions | string): Promise<LightMyRequestResponse> {
    const app = await this.ready();
    return app.inject(opts);
  }

  /** Starts listening (port and host from the options, TABLEOS_HTTP_PORT/HOST, or 8080 on 127.0.0.1); returns the address. */
  async listen(opts: { port?: number; host?: string } = {}): Promise<string> {
    if (this.address !== undefined) return this.address;
    const app = await this.ready();
    const port = opts.port ?? this.config.port;
    const host = opts.host ?? this.config.host;
    try {
      this.address = await app.listen({ port, host });
    } catch (cause) {
      throw new HttpListenError(`${host}:${port}`, { cause });
    }
    this.log.info({ address: this.address }, 'http listening');
    return this.address;
  }

  /** Deletes idempotency records older than olderThanMs whose run is gone (after os.workflows.gc); returns how many. */
  async gc(opts: { olderThanMs: number; batchSize?: number }): Promise<number> {
    const batch = opts.batchSize ?? 1000;
    let total = 0;
    for (;;) {
      const [row] = await this.ctx.kernel.sql<{ n: number }[]>`
        select tableos.http_gc(${opts.olderThanMs}, ${batch}) as n`;
      total += row?.n ?? 0;
      if ((row?.n ?? 0) < batch) return total;
    }
  }

  /** Drains: new requests get 503, in-flight ones finish (up to drainMs), then the server closes. */
  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    this.startDrain();
    const app =
      this.building === undefined ? undefined : await this.building.catch(() => undefined);
    if (app === undefined) return;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.onIdle = resolve;
        timer = setTimeout(resolve, this.config.drainMs);
      });
      clearTimeout(timer);
      if (this.inFlight.size > 0) {
        this.log.warn({ inFlight: this.inFlight.size }, 'drain time is up; cutting requests');
        app.server.closeAllConnections();
      }
    }
    await app.close();
  }

  private declare(
    method: HttpMethod,
    path: string,
    fn: unknown,
    opts: Parameters<typeof makeRoute>[3],
  ): this {
    this.checkOpen(`route ${method} ${path}`);
    const route = makeRoute(method, path, fn, opts);
    if (this.routes.some((r) => r.method === method && r.path === path))
      throw new HttpRouteError(`route ${method} ${path} is declared twice`);
    // Made now, so every node that declares the route can also take over its runs.
    this.workflowOf(route.target);
    this.routes.push(route);
    return this;
  }

  private checkOpen(what: string): void {
    if (this.draining) throw new ClosedError('the HTTP gateway is closed');
    if (this.building !== undefined)
      throw new HttpRouteError(`${what}: declare routes before the server starts (listen, inject)`);
  }

  /** A procedure runs as a workflow of one call, so its request gets a durable, exactly-once run. */
  private workflowOf(target: HttpTarget<unknown[], unknown>): Workflow<unknown[], unknown> {
    if (target.kind === 'workflow') return target;
    let wf = this.wrappers.get(target);
    if (wf === undefined) {
      const proc = target;
      wf = this.workflows.workflow(`${PROCEDURE_WORKFLOW_PREFIX}${proc.name}`, (ctx, ...args) =>
        ctx.call(proc, ...args),
      );
      this.wrappers.set(target, wf);
    }
    return wf;
  }
}
