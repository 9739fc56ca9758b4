// The console's pages over HTTP (no browser): hostile names, inputs, paths and SQL values come
// back escaped; filters and paging select what SQL selects; the SQL page is read-only; forms
// posted without htmx are refused.
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import { openTestOS } from '../support/db.js';

const EVIL = `<img src=x onerror="alert(1)">'&`;
const ESCAPED = '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;';
// Workflow names hold no spaces.
const EVIL_NAME = `<script>alert("n")</script>'&`;
const NAME_ESCAPED = '&lt;script&gt;alert(&quot;n&quot;)&lt;/script&gt;&#39;&amp;';

let os: TableOS;

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await os.http.inject(url);
  return { status: res.statusCode, body: res.body };
}

beforeAll(async () => {
  os = await openTestOS();
  const wf = os.workflows;
  const evil = wf.workflow(`evil${EVIL_NAME}`, (_ctx, x: string) => Promise.resolve(`out${x}`));
  const plain = wf.workflow('plain', (_ctx, n: number) => Promise.resolve(n));
  await (await evil.start([EVIL], { id: 'evil-1' })).result();
  for (let i = 0; i < 55; i++)
    await (await plain.start([i], { id: `p-${String(i).padStart(2, '0')}` })).result();
  await os.fs.mkdir(`/d${EVIL}`);
  await os.fs.writeFile(`/d${EVIL}/f${EVIL}.txt`, `text ${EVIL}`);
  await os.messaging.send(`box.x`, { v: EVIL });
  const nap = wf.workflow('nap', async (ctx) => {
    await ctx.sleep(600_000);
  });
  await nap.start([], { id: 'nap/1:a' });
  await wf.cancel('nap/1:a');
});

describe('console pages', () => {
  it('escapes a hostile workflow name, input and output everywhere it is shown', async () => {
    const list = await get('/console/workflows?name=' + encodeURIComponent(`evil${EVIL_NAME}`));
    expect(list.status).toBe(200);
    expect(list.body).not.toContain(EVIL_NAME);
    expect(list.body).toContain(`<td>evil${NAME_ESCAPED}</td>`);
    const run = await get('/console/workflows/evil-1');
    expect(run.status).toBe(200);
    expect(run.body).not.toContain('<img');
    expect(run.body).not.toContain('<script>alert');
    expect(run.body).toContain(`<td id="run-name">evil${NAME_ESCAPED}</td>`);
    // Inside JSON text the quotes are backslash-escaped, then HTML-escaped.
    const inJson = ESCAPED.replace(/&quot;/g, '\\&quot;');
    expect(run.body).toContain(`<pre id="run-input">[\n  &quot;${inJson}&quot;\n]</pre>`);
    expect(run.body).toContain(`<pre id="run-output">&quot;out${inJson}&quot;</pre>`);
  });

  it('escapes hostile file names, contents and mailbox bodies', async () => {
    const dir = await get('/console/files?path=' + encodeURIComponent(`/d${EVIL}`));
    expect(dir.status).toBe(200);
    expect(dir.body).not.toContain('<img');
    expect(dir.body).toContain(`f${ESCAPED}.txt`);
    const file = await get('/console/files?path=' + encodeURIComponent(`/d${EVIL}/f${EVIL}.txt`));
    expect(file.body).toContain(`<pre id="preview">text ${ESCAPED}</pre>`);
    const raw = await os.http.inject(
      '/console/files/raw?path=' + encodeURIComponent(`/d${EVIL}/f${EVIL}.txt`),
    );
    expect(raw.body).toBe(`text ${EVIL}`);
    expect(raw.headers['content-disposition']).toMatch(/^attachment; /);
    const box = await get('/console/mailboxes/box.x');
    expect(box.body).not.toContain('<img');
    const missing = await get('/console/files?path=/nope');
    expect(missing.status).toBe(404);
  });

  it('filters by status, name and id prefix, and pages by 50', async () => {
    const ids = (body: string) => [...body.matchAll(/<tr data-id="([^"]*)"/g)].map((m) => m[1]);
    const first = await get('/console/workflows?name=plain');
    const rows = await os.sql<{ id: string }[]>`
      select id from tableos.workflow where name = 'plain' order by created_at desc, id`;
    expect(ids(first.body)).toEqual(rows.slice(0, 50).map((r) => r.id));
    expect(first.body).toContain('rel="next"');
    const second = await get('/console/workflows?name=plain&page=1');
    expect(ids(second.body)).toEqual(rows.slice(50).map((r) => r.id));
    const prefix = await get('/console/workflows?id=p-0');
    expect(ids(prefix.body).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `p-0${i}`));
    const none = await get('/console/workflows?status=error');
    expect(ids(none.body)).toEqual([]);
    expect((await get('/console/workflows?status=bogus')).status).toBe(400);
    expect((await get('/console/workflows?since=soon')).status).toBe(400);
  });

  it('runs SQL read-only with escaped values, and refuses forms not posted by htmx', async () => {
    const post = (sql: string, htmx = true) =>
      os.http.inject({
        method: 'POST',
        url: '/console/sql',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(htmx ? { 'hx-request': 'true' } : {}),
        },
        payload: new URLSearchParams({ sql }).toString(),
      });
    const sel = await post(`select ${"'" + EVIL.replace(/'/g, "''") + "'"} as v, 2 as n`);
    expect(sel.statusCode).toBe(200);
    expect(sel.body).toContain(`<td>${ESCAPED}</td><td>2</td>`);
    const write = await post(`create table t_console (x int)`);
    expect(write.body).toContain('read-only transaction');
    const [t] = await os.sql`select to_regclass('public.t_console') as t`;
    expect(t!.t).toBeNull();
    const csrf = await post('select 1', false);
    expect(csrf.statusCode).toBe(403);
    const cancel = await os.http.inject({ method: 'POST', url: '/console/workflows/p-00/cancel' });
    expect(cancel.statusCode).toBe(403);
  });

  it('resumes and forks from a run page (ids with slashes too)', async () => {
    const act = (id: string, what: string, payload = '') =>
      os.http.inject({
        method: 'POST',
        url: `/console/workflows/${encodeURIComponent(id)}/${what}`,
        headers: { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
    const page = await get('/console/workflows/' + encodeURIComponent('nap/1:a'));
    expect(page.status).toBe(200);
    expect(page.body).toContain('<td id="run-status" data-status="cancelled">');
    expect(page.body).toContain('id="resume"');
    const resumed = await act('nap/1:a', 'resume');
    expect(resumed.statusCode).toBe(204);
    expect(resumed.headers['hx-redirect']).toBe('/console/workflows/nap%2F1%3Aa');
    const [row] = await os.sql<{ status: string }[]>`
      select status from tableos.workflow where id = 'nap/1:a'`;
    expect(row!.status).toBe('pending');
    await os.workflows.cancel('nap/1:a');

    const forked = await act('p-01', 'fork', 'fromStep=');
    expect(forked.statusCode).toBe(204);
    const to = String(forked.headers['hx-redirect']);
    const newId = decodeURIComponent(to.slice('/console/workflows/'.length));
    const [copy] = await os.sql<{ forked_from: string; name: string }[]>`
      select forked_from, name from tableos.workflow where id = ${newId}`;
    expect(copy).toEqual({ forked_from: 'p-01', name: 'plain' });
    expect((await act('p-01', 'fork', 'fromStep=x')).statusCode).toBe(400);
    expect((await get('/console/workflows/nope')).status).toBe(404);
  });

  it('serves htmx and uPlot from the packages', async () => {
    const htmx = await os.http.inject('/console/assets/htmx.min.js');
    expect(htmx.statusCode).toBe(200);
    expect(htmx.body).toContain('htmx');
    const uplot = await os.http.inject('/console/assets/uplot.min.js');
    expect(uplot.body).toContain('uPlot');
    expect((await os.http.inject('/console/assets/nope.js')).statusCode).toBe(404);
  });
});
