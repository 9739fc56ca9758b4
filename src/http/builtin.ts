// What every gateway serves: /healthz (the process is up), /readyz (the database answers and
// every migration is applied), /openapi.json (OpenAPI 3.1 from the routes' zod schemas) and
// /docs (a page that renders it, with no resources from elsewhere).
import { loadMigrations } from '../kernel/migrator.js';
import { errorMessage } from '../kernel/errors.js';
import type { GatewayApp, GatewayContext } from './context.js';
import { HttpDrainingError, HttpNotReadyError } from './errors.js';
import { DOCS_HTML } from './docs-page.js';

let expected: string[] | undefined;

/** Migrations this code expects, read once. */
function expectedMigrations(): string[] {
  expected ??= loadMigrations().map((m) => m.name);
  return expected;
}

async function checkReady(ctx: GatewayContext): Promise<void> {
  if (ctx.isDraining()) throw new HttpDrainingError();
  let applied: string[];
  try {
    const rows = await ctx.kernel.sql<{ name: string }[]>`
      select name from tableos.migration order by name`;
    applied = rows.map((r) => r.name);
  } catch (cause) {
    throw new HttpNotReadyError(`the database is not reachable: ${errorMessage(cause)}`, {
      cause,
    });
  }
  const have = new Set(applied);
  const pending = expectedMigrations().filter((n) => !have.has(n));
  if (pending.length > 0)
    throw new HttpNotReadyError(`migrations not applied yet: ${pending.join(', ')}`);
}

export function registerBuiltins(app: GatewayApp, ctx: GatewayContext): void {
  const hide = { schema: { hide: true } };
  app.get('/healthz', hide, () => ({ status: 'ok' }));
  app.get('/readyz', hide, async () => {
    await checkReady(ctx);
    return { status: 'ready', migrations: expectedMigrations().length };
  });
  app.get('/openapi.json', hide, () => app.swagger());
  app.get('/docs', hide, (_req, reply) => reply.type('text/html; charset=utf-8').send(DOCS_HTML));
}
