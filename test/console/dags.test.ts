// The console's DAG pages over HTTP: the list and a graph's drawing show what the dag tables
// hold, node by node; hostile node ids come back escaped; cancel works from the page only
// through htmx; unknown ids and bad filters are clear errors. (Node ids are checked letters
// and digits, so the hostile string travels as a node's output.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

const EVIL = `<b onmouseover="x()">n'&`;
const ESCAPED = '&lt;b onmouseover=&quot;x()&quot;&gt;n&#39;&amp;';

let os: TableOS;
let release!: () => void;
const held = new Promise<void>((r) => (release = r));

beforeAll(async () => {
  os = await openTestOS();
  const s = os.serverless;
  s.fn('num', (_ctx, n: number) => n, { kind: 'procedure' });
  s.fn('add', (ctx) => (ctx.inputs as number[]).reduce((a, b) => a + b, 0), { kind: 'procedure' });
  s.fn('say', (_ctx, text: string) => text, { kind: 'procedure' });
  s.fn(
    'hold',
    async () => {
      await held;
      return 1;
    },
    { kind: 'step' },
  );
  await os.scheduler.start({ capacity: 4, memoryMb: 512, pollMs: 200 });
  const h = await s.submit(
    {
      nodes: [
        { id: 'a', fn: 'num', args: [2] },
        { id: 'b', fn: 'num', args: [3] },
        { id: 'sum', fn: 'add' },
        { id: 'say', fn: 'say', args: [EVIL] },
      ],
      edges: [
        ['a', 'sum'],
        ['b', 'sum'],
      ],
    },
    { id: 'diamond' },
  );
  await h.result();
});

afterAll(() => release());

const get = async (url: string) => {
  const res = await os.http.inject(url);
  return { status: res.statusCode, body: res.body };
};

describe('console DAG pages', () => {
  it('lists graphs as the dag table holds them, filtered by status', async () => {
    const page = await get('/console/dags');
    expect(page.status).toBe(200);
    const rows = await os.sql<{ id: string; status: string; node_count: number }[]>`
      select id, status, node_count from tableos.dag order by created_at desc`;
    const shown = [...page.body.matchAll(/<tr data-dag="([^"]*)">/g)].map((m) => m[1]);
    expect(shown).toEqual(rows.map((r) => r.id));
    expect(page.body).toMatch(/<td class="num nodes">4<\/td>/);
    const running = await get('/console/dags?status=running');
    expect(running.body).not.toContain('data-dag="diamond"');
    const bad = await get('/console/dags?status=%27;drop');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/status must be one of running, done/);
  });

  it('draws each node with its state and each edge, and lists the nodes', async () => {
    const page = await get('/console/dags/diamond');
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('<b onmouseover');
    const nodes = await os.sql<{ id: string; status: string }[]>`
      select id, status from tableos.dag_node where dag_id = 'diamond' order by id`;
    const edges = await os.sql<{ n: number }[]>`
      select count(*)::int n from tableos.dag_edge where dag_id = 'diamond'`;
    const svg = /<svg\s+id="dag-graph"[\s\S]*<\/svg>/.exec(page.body)?.[0] ?? '';
    const drawn = [
      ...svg.matchAll(/<g\s+class="dag-node dag-node-([a-z_]+)"\s+data-node="([^"]*)"/g),
    ]
      .map((m) => ({ id: m[2]!, status: m[1]! }))
      .sort((x, y) => (x.id < y.id ? -1 : 1));
    expect(drawn).toEqual(nodes);
    expect([...svg.matchAll(/class="dag-edge"/g)]).toHaveLength(edges[0]!.n);
    expect(page.body).toMatch(/<tr data-node="sum">[\s\S]*?<pre>5<\/pre>/);
    expect(page.body).toContain(`<pre>&quot;${ESCAPED.replace(/&quot;/g, '\\&quot;')}&quot;</pre>`);
    const missing = await get('/console/dags/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('TABLEOS_DAG_NOT_FOUND');
  });

  it('cancels a running graph from its page, only through htmx', async () => {
    await os.serverless.submit(
      {
        nodes: [
          { id: 'slow', fn: 'hold' },
          { id: 'next', fn: 'add' },
        ],
        edges: [['slow', 'next']],
      },
      { id: 'stuck' },
    );
    await waitFor(
      async () =>
        (
          await os.sql`select 1 from tableos.dag_node where dag_id = 'stuck' and id = 'slow'
                       and status = 'running'`
        ).length === 1,
      { what: 'the held node to start' },
    );
    const page = await get('/console/dags/stuck');
    expect(page.body).toContain('hx-post="/console/dags/stuck/cancel"');
    expect(page.body).toContain('hx-confirm="Cancel graph stuck?');
    const forged = await os.http.inject({ method: 'POST', url: '/console/dags/stuck/cancel' });
    expect(forged.statusCode).toBe(403);
    const [before] = await os.sql<
      { status: string }[]
    >`select status from tableos.dag where id = 'stuck'`;
    expect(before!.status).toBe('running');
    const res = await os.http.inject({
      method: 'POST',
      url: '/console/dags/stuck/cancel',
      headers: { 'hx-request': 'true' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['hx-redirect']).toBe('/console/dags/stuck');
    const after = await os.sql<{ id: string; status: string }[]>`
      select 'dag' id, status from tableos.dag where id = 'stuck'
      union all select id, status from tableos.dag_node where dag_id = 'stuck' and id = 'next'`;
    expect(after).toEqual([
      { id: 'dag', status: 'cancelled' },
      { id: 'next', status: 'cancelled' },
    ]);
    expect((await get('/console/dags/stuck')).body).not.toContain('id="cancel"');
  });
});
