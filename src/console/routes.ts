// The console's routes on the gateway's fastify instance: pages (full documents), the
// fragments htmx refreshes, the actions (cancel, resume, fork, SQL) and the static assets.
// Forms are posted by htmx only: a POST without its HX-Request header is refused (CSRF).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayApp } from '../http/context.js';
import { HttpBadRequestError, HttpForbiddenError } from '../http/errors.js';
import { WorkflowNotFoundError } from '../workflows/errors.js';
import { registerAssets } from './assets.js';
import type { ConsoleContext } from './context.js';
import { DagNotFoundError } from '../serverless/errors.js';
import * as dagProc from '../serverless/procedures.js';
import { dagBody, dagDetail, dagHref, dagsBody, parseDagStatus } from './dags-page.js';
import { filesBody } from './files-page.js';
import { html, type SafeHtml } from './html.js';
import { page, type Section } from './layout.js';
import { mailboxBody, mailboxesBody } from './mailboxes-page.js';
import { overviewBody, overviewTables } from './overview-page.js';
import { queuesBody } from './queues-page.js';
import { readSnapshot } from './snapshot.js';
import { runSql, sqlForm } from './sql-page.js';
import { parseFilter } from './workflow-filter.js';
import { workflowBody } from './workflow-page.js';
import { runHref, runsTable, workflowsBody } from './workflows-page.js';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, unknown> }>;

function send(reply: FastifyReply, body: SafeHtml, status = 200): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(body.text);
}

function full(reply: FastifyReply, title: string, section: Section, body: SafeHtml, status = 200) {
  return send(reply, page(title, section, body), status);
}

function requireHtmx(req: FastifyRequest): void {
  if (req.headers['hx-request'] !== 'true')
    throw new HttpForbiddenError('console forms are posted by the console page (HX-Request: true)');
}

function formField(req: FastifyRequest, name: string): string | undefined {
  const body = req.body as Record<string, unknown> | undefined;
  const v = body?.[name];
  return typeof v === 'string' ? v : undefined;
}

/** After an action, the browser goes to the run's page. */
function redirect(reply: FastifyReply, to: string): FastifyReply {
  return reply.header('hx-redirect', to).code(204).send();
}

export function registerConsole(app: GatewayApp, ctx: ConsoleContext): void {
  const hide = { schema: { hide: true } };
  registerAssets(app);
  void app.register((scope, _opts, done) => {
    // Forms only in this scope: the API routes keep answering 415 to anything but JSON.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 256 * 1024 },
      (_req, body, parsed) => parsed(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.get('/console', hide, async (_req, reply) =>
      full(reply, 'Overview', 'overview', await overviewBody(ctx)),
    );
    scope.get('/console/overview', hide, async (_req, reply) =>
      send(reply, overviewTables(await readSnapshot(ctx.kernel.sql))),
    );
    scope.get('/console/workflows', hide, async (req: Req, reply) =>
      full(reply, 'Workflows', 'workflows', await workflowsBody(ctx, parseFilter(req.query))),
    );
    scope.get('/console/workflows/rows', hide, async (req: Req, reply) =>
      send(reply, await runsTable(ctx, parseFilter(req.query))),
    );
    scope.get('/console/workflows/:id', hide, async (req: Req, reply) => {
      const id = req.params.id ?? '';
      const [row] = await ctx.kernel.sql<Parameters<typeof workflowBody>[1][]>`
        select * from tableos.workflow where id = ${id}`;
      if (row === undefined) throw new WorkflowNotFoundError(id);
      return full(reply, `Workflow ${row.name}`, 'workflows', await workflowBody(ctx, row));
    });
    scope.post('/console/workflows/:id/cancel', hide, async (req: Req, reply) => {
      requireHtmx(req);
      const id = req.params.id ?? '';
      await ctx.workflows.cancel(id);
      return redirect(reply, runHref(id));
    });
    scope.post('/console/workflows/:id/resume', hide, async (req: Req, reply) => {
      requireHtmx(req);
      const id = req.params.id ?? '';
      await ctx.workflows.resume(id);
      return redirect(reply, runHref(id));
    });
    scope.post('/console/workflows/:id/fork', hide, async (req: Req, reply) => {
      requireHtmx(req);
      const from = formField(req, 'fromStep');
      if (from !== undefined && from !== '' && !/^\d{1,9}$/.test(from))
        throw new HttpBadRequestError('fromStep must be an integer >= 0', 'body.fromStep');
      const newId = await ctx.workflows.fork(
        req.params.id ?? '',
        from === undefined || from === '' ? {} : { fromStep: Number(from) },
      );
      return redirect(reply, runHref(newId));
    });
    scope.get('/console/queues', hide, async (_req, reply) =>
      full(reply, 'Queues and cron', 'queues', await queuesBody(ctx)),
    );
    scope.get('/console/dags', hide, async (req: Req, reply) =>
      full(reply, 'DAGs', 'dags', await dagsBody(ctx.kernel.sql, parseDagStatus(req.query.status))),
    );
    scope.get('/console/dags/:id', hide, async (req: Req, reply) => {
      const id = req.params.id ?? '';
      const found = await dagDetail(ctx.kernel.sql, id);
      if (found === undefined) throw new DagNotFoundError(`no dag with id ${JSON.stringify(id)}`);
      return full(reply, `DAG ${id}`, 'dags', dagBody(found.dag, found.nodes));
    });
    scope.post('/console/dags/:id/cancel', hide, async (req: Req, reply) => {
      requireHtmx(req);
      const id = req.params.id ?? '';
      // The service's own statement: nodes not started are cancelled, running ones finish.
      await dagProc.cancel(ctx.kernel.sql, id, 'cancelled', 'cancelled from the console');
      return redirect(reply, dagHref(id));
    });
    scope.get('/console/mailboxes', hide, async (_req, reply) =>
      full(reply, 'Mailboxes', 'mailboxes', await mailboxesBody(ctx)),
    );
    scope.get('/console/mailboxes/:name', hide, async (req: Req, reply) => {
      const name = req.params.name ?? '';
      return full(reply, `Mailbox ${name}`, 'mailboxes', await mailboxBody(ctx, name));
    });
    scope.get('/console/files', hide, async (req: Req, reply) => {
      const fs = ctx.fs?.();
      if (fs === undefined)
        return full(reply, 'Files', 'files', html`<p>No file system on this node.</p>`, 404);
      const path =
        typeof req.query.path === 'string' && req.query.path !== '' ? req.query.path : '/';
      const { status, body } = await filesBody(fs, path);
      return full(reply, `Files: ${path}`, 'files', body, status);
    });
    scope.get('/console/files/raw', hide, async (req: Req, reply) => {
      const fs = ctx.fs?.();
      const path = typeof req.query.path === 'string' ? req.query.path : '';
      if (fs === undefined || path === '')
        throw new HttpBadRequestError('path is needed', 'query.path');
      const data = await fs.readFile(path);
      const name = path.split('/').pop() || 'file';
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`)
        .header('x-content-type-options', 'nosniff')
        .send(data);
    });
    scope.get('/console/sql', hide, (_req, reply) => full(reply, 'SQL', 'sql', sqlForm(ctx)));
    scope.post('/console/sql', hide, async (req, reply) => {
      requireHtmx(req);
      const text = formField(req, 'sql') ?? '';
      if (text.trim() === '') throw new HttpBadRequestError('no statement given', 'body.sql');
      return send(reply, await runSql(ctx, text));
    });
    done();
  });
}
