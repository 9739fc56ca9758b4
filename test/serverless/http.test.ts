// POST /dags and GET /dags/:id through the HTTP gateway's route API.
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { serveDags } from '../../src/serverless/http-routes.js';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

let os: TableOS;

beforeAll(async () => {
  os = await openTestOS();
  os.serverless.fn('num', (_ctx, n: number) => n, { kind: 'procedure' });
  os.serverless.fn('sum', (ctx) => (ctx.inputs as number[]).reduce((a, b) => a + b, 0), {
    kind: 'procedure',
  });
  serveDags(os);
  await os.scheduler.start({ capacity: 4, pollMs: 200 });
});

const graph = {
  id: 'web',
  nodes: [
    { id: 'a', fn: 'num', args: [20] },
    { id: 'b', fn: 'num', args: [22] },
    { id: 'total', fn: 'sum' },
  ],
  edges: [
    ['a', 'total'],
    ['b', 'total'],
  ],
};

describe('dags over HTTP', () => {
  it('submits a graph with POST /dags (Idempotency-Key) and reads it with GET /dags/:id', async () => {
    const post = () =>
      os.http.inject({
        method: 'POST',
        url: '/dags',
        payload: graph,
        headers: { 'idempotency-key': 'k1' },
      });
    const res = await post();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 'web', existed: false, location: '/dags/web' });
    // The same key again answers from the recorded run: the same dag, made once.
    expect((await post()).json()).toEqual({ id: 'web', existed: false, location: '/dags/web' });
    await waitFor(
      async () =>
        (await os.http.inject({ method: 'GET', url: '/dags/web' })).json<{ status: string }>()
          .status === 'done',
      { what: 'the dag to finish' },
    );
    const got = (await os.http.inject({ method: 'GET', url: '/dags/web' })).json<{
      nodes: { id: string; status: string; output: unknown }[];
    }>();
    expect(got.nodes.find((n) => n.id === 'total')).toMatchObject({ status: 'done', output: 42 });
    expect(await os.serverless.result('web')).toEqual({ total: 42 });
  });

  it('answers bad graphs with a 400 that says what was wrong, and stores nothing', async () => {
    const res = await os.http.inject({
      method: 'POST',
      url: '/dags',
      payload: { ...graph, id: 'cyclic', edges: [...graph.edges, ['total', 'a']] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/the graph has a cycle: a -> total -> a/);
    const unknown = await os.http.inject({
      method: 'POST',
      url: '/dags',
      payload: { id: 'u', nodes: [{ id: 'x', fn: 'nope' }] },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toMatch(/unknown function \\"nope\\"/);
    const [n] = await os.sql<{ n: number }[]>`
      select count(*)::int n from tableos.dag where id in ('cyclic', 'u')`;
    expect(n!.n).toBe(0);
  });

  it('GET of an unknown dag is 404 with the dag code', async () => {
    const res = await os.http.inject({ method: 'GET', url: '/dags/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 404, code: 'TABLEOS_DAG_NOT_FOUND' });
    expect(res.json<{ detail: string }>().detail).toMatch(/nope/);
  });
});
