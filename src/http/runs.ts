// GET /runs/{id}: a run's status and output, waiting up to ?wait=5s (or 500ms) for it to end.
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WorkflowNotFoundError, WorkflowResultTimeoutError } from '../workflows/errors.js';
import type { GatewayApp, GatewayContext } from './context.js';
import { HttpBadRequestError } from './errors.js';
import { runJson } from './json.js';

const ID = /^[A-Za-z0-9._:@/+=-]{1,255}$/;

/** `5s`, `500ms`, `0` -> milliseconds, at most max. */
export function parseWait(v: string | undefined, max: number): number {
  if (v === undefined || v === '') return 0;
  const m = /^(\d{1,9})(ms|s)?$/.exec(v);
  if (m === null)
    throw new HttpBadRequestError(
      `wait must be a duration such as 5s or 500ms, got ${JSON.stringify(v)}`,
      'query.wait',
    );
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  return Math.min(ms, max);
}

const runSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['enqueued', 'pending', 'success', 'error', 'cancelled', 'max_recovery_exceeded']),
  done: z.boolean(),
  output: z.unknown().optional(),
  error: z.record(z.string(), z.unknown()).optional(),
  recoveryAttempts: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export function registerRuns(app: GatewayApp, ctx: GatewayContext): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/runs/:id',
    {
      schema: {
        summary: 'a run: status, output or error; ?wait= long-polls until it ends',
        tags: ['runs'],
        params: z.object({ id: z.string() }),
        querystring: z.object({ wait: z.string().optional() }),
        response: { 200: runSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      if (!ID.test(id)) throw new WorkflowNotFoundError(id);
      const waitMs = parseWait(req.query.wait, ctx.config.maxWaitMs);
      if (waitMs > 0 && !ctx.isDraining()) {
        // Ends with the run, at the wait's end, or when the node begins to drain.
        const waited = ctx.workflows.waitOutcome(id, { timeoutMs: waitMs }).then(
          () => undefined,
          (err: unknown) =>
            err instanceof WorkflowResultTimeoutError ? undefined : (err as Error),
        );
        const failed = await Promise.race([waited, ctx.drainStarted.then(() => undefined)]);
        if (failed !== undefined) throw failed;
      }
      const run = runJson(await ctx.workflows.get(id));
      if (!run.done) reply.header('retry-after', '1');
      return run;
    },
  );
}
