// POST /dags and GET /dags/:id through the gateway's route API: each is an exactly-once
// procedure run (the Idempotency-Key names the run), and a graph is checked by the request's
// schema first, so bad input is a 400 that says what was wrong.
import { z } from 'zod';
import { HttpStatusError } from '../http/errors.js';
import type { HttpGateway } from '../http/gateway.js';
import type { Workflows } from '../workflows/service.js';
import { DagNotFoundError } from './errors.js';
import * as proc from './procedures.js';
import { toDag, toNode } from './rows.js';
import type { Serverless } from './serverless.js';
import type { DagGraph } from './types.js';

const policy = {
  retries: z.number().int().optional(),
  backoffMs: z.number().int().optional(),
  onFailure: z.enum(['fail', 'continue']).optional(),
};

const nodeSchema = z.object({
  id: z.string(),
  fn: z.string(),
  args: z.array(z.unknown()).optional(),
  memoryMb: z.number().int().optional(),
  locality: z.string().optional(),
  ...policy,
});

const graphSchema = z.object({
  /** The dag id (idempotency key of the graph); made when absent. */
  id: z.string().optional(),
  nodes: z.array(nodeSchema),
  edges: z.array(z.tuple([z.string(), z.string()])).optional(),
  timeoutMs: z.number().int().optional(),
  ...policy,
});

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString());

/**
 * Declares POST <prefix> (body: a graph of registered functions, plus an optional id) and
 * GET <prefix>/:id on the gateway. Call before the gateway starts.
 */
export function serveDags(
  os: { http: HttpGateway; workflows: Workflows; serverless: Serverless },
  prefix = '/dags',
): void {
  const s = os.serverless;
  const body = graphSchema.superRefine((g, ctx) => {
    const problem = s.problemWith(g as DagGraph);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
  const submit = os.workflows.procedure(
    'serverless.http.submit',
    async (tx, g: z.output<typeof graphSchema>) => {
      const { id, ...graph } = g;
      // In the run's own transaction: the dag and the request's record commit together.
      const r = await s.submitIn(tx, graph as DagGraph, id);
      return { id: r.id, existed: r.existed, location: `${prefix}/${encodeURIComponent(r.id)}` };
    },
  );
  const read = os.workflows.procedure('serverless.http.get', async (tx, q: { id: string }) => {
    const dag = toDag(
      await proc.get(tx, q.id).catch((err: unknown) => {
        // An unknown id is the client's 404, with the service's own code, not a failed run.
        if (err instanceof DagNotFoundError)
          throw new HttpStatusError(404, err.message, { code: err.code });
        throw err;
      }),
    );
    const nodes = (await proc.nodes(tx, q.id)).map(toNode);
    return {
      ...dag,
      deadline: iso(dag.deadline),
      createdAt: iso(dag.createdAt),
      finishedAt: iso(dag.finishedAt),
      nodes: nodes.map((n) => ({
        ...n,
        readyAt: iso(n.readyAt),
        startedAt: iso(n.startedAt),
        finishedAt: iso(n.finishedAt),
      })),
    };
  });
  os.http.post(prefix, submit, {
    body,
    summary: 'submit a graph of registered serverless functions',
    tags: ['dags'],
  });
  os.http.get(`${prefix}/:id`, read, {
    params: z.object({ id: z.string() }),
    summary: 'a graph and the state of each node',
    tags: ['dags'],
  });
}
