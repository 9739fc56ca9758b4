// The console in a real browser (Debian's Chromium through playwright-core) against a node
// with seeded data: each page shows what SQL says, the workflows list refreshes by itself,
// cancelling a run from its page (click, confirm) shows it cancelled, and axe-core finds no
// serious or critical violations. Screenshots go to test-artifacts/.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableOS } from '../../src/tableos.js';
import type { Workflow } from '../../src/workflows/registry.js';
import {
  findChromium,
  launchChromium,
  screenshot,
  seriousViolations,
  type AxeViolation,
} from '../support/browser.js';
import { openTestOS } from '../support/db.js';

const chrome = findChromium();
if (chrome.path === undefined) console.log(`console browser tests skipped: ${chrome.reason}`);

describe.skipIf(chrome.path === undefined)('console in Chromium', () => {
  let os: TableOS;
  let base: string;
  let browser: Browser;
  let page: Page;
  const violations: Record<string, AxeViolation[]> = {};
  let plain: Workflow<[number], number>;

  const texts = (sel: string) => page.locator(sel).allTextContents();
  // Elements as the page sees them (the tests are type-checked without the DOM library).
  type El = { getAttribute(n: string): string | null };
  const attrs = (sel: string, name: string): Promise<(string | null)[]> =>
    page
      .locator(sel)
      .evaluateAll((els: unknown[], n: string) => els.map((e) => (e as El).getAttribute(n)), name);

  async function visit(path: string, shot: string): Promise<void> {
    const res = await page.goto(base + path);
    expect(res?.status()).toBe(200);
    await screenshot(page, shot);
    violations[shot] = await seriousViolations(page);
  }

  beforeAll(async () => {
    os = await openTestOS({ http: { port: 0 } });
    const wf = os.workflows;
    const step = wf.step('fetch', (n: number) => Promise.resolve(n + 1));
    const kid = wf.workflow('kid', async (ctx, n: number) => ctx.call(step, n));
    const parent = wf.workflow('parent', async (ctx, n: number) => {
      const a = await ctx.call(step, n);
      const b = await ctx.call(kid, a);
      await ctx.setEvent('stage', 'done');
      await ctx.send('outbox', { from: 'parent', b });
      return b;
    });
    const hold = wf.workflow('hold', async (ctx) => {
      await ctx.sleep(600_000);
      return 'late';
    });
    const fails = wf.workflow('fails', () => Promise.reject(new Error('broken on purpose')));
    plain = wf.workflow('plain', (_ctx, n: number) => Promise.resolve(n));
    await (await parent.start([1], { id: 'parent-1' })).result();
    await expect((await fails.start([], { id: 'fails-1' })).result()).rejects.toThrow('broken');
    for (let i = 0; i < 3; i++) await plain.start([i], { id: `plain-${i}` });
    await hold.start([], { id: 'hold-1' });
    const s = os.scheduler;
    await s.queue('work');
    await s.pause('work');
    for (let i = 0; i < 3; i++) await s.enqueue('work', 'noop', { i });
    await s.cron.add('nightly', '0 3 * * *', { queue: 'work', kind: 'noop' });
    await os.messaging.send('inbox', { hello: 1 });
    await os.messaging.send('inbox', { hello: 2 });
    await os.fs.mkdir('/docs');
    await os.fs.writeFile('/docs/readme.txt', 'hello from the TableOS fs\n');
    // A graph nobody runs (no scheduler here): its nodes stay ready and waiting.
    os.serverless.fn('num', (_ctx, n: number) => n, { kind: 'procedure' });
    os.serverless.fn('add', (ctx) => (ctx.inputs as number[]).reduce((a, b) => a + b, 0), {
      kind: 'procedure',
    });
    await os.serverless.submit(
      {
        nodes: [
          { id: 'a', fn: 'num', args: [1] },
          { id: 'b', fn: 'num', args: [2] },
          { id: 'sum', fn: 'add' },
        ],
        edges: [
          ['a', 'sum'],
          ['b', 'sum'],
        ],
      },
      { id: 'graph-1' },
    );
    base = await os.http.listen();
    browser = await launchChromium(chrome.path!);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('overview shows executors, queue depth, tasks and runs by status as SQL does', async () => {
    await visit('/console', 'overview');
    const execs = await os.sql<{ id: string }[]>`
      select id from tableos.executor
       where status = 'alive' or ended_at > now() - interval '10 minutes' order by status, id`;
    expect(await attrs('#executors tbody tr', 'data-id')).toEqual(execs.map((e) => e.id));
    const [depth] = await os.sql<{ n: number }[]>`
      select count(*)::int as n from tableos.task where queue = 'work' and state = 'queued'`;
    expect(depth!.n).toBe(3);
    expect(await texts('#queues tr[data-queue="work"] .depth')).toEqual([String(depth!.n)]);
    const [queued] = await os.sql<{ n: number }[]>`
      select count(*)::int as n from tableos.task where state = 'queued'`;
    expect(queued!.n).toBe(5); // the queue's 3 and the graph's 2 ready nodes
    expect(await texts('#tasks td[data-state="queued"]')).toEqual([String(queued!.n)]);
    const byStatus = await os.sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from tableos.workflow
       where created_at > now() - interval '1 hour' group by status`;
    for (const st of ['success', 'error', 'pending', 'cancelled']) {
      const want = byStatus.find((r) => r.status === st)?.n ?? 0;
      expect(await texts(`#workflow-statuses td[data-status="${st}"]`)).toEqual([String(want)]);
    }
    await expect.poll(() => page.locator('.uplot canvas').count()).toBeGreaterThan(0);
  });

  it('workflows list equals SQL, filters by status and refreshes itself', async () => {
    await visit('/console/workflows', 'workflows');
    const all = await os.sql<{ id: string }[]>`
      select id from tableos.workflow order by created_at desc, id limit 50`;
    expect(await attrs('#runs-table tbody tr', 'data-id')).toEqual(all.map((r) => r.id));
    await page.selectOption('select[name="status"]', 'success');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/status=success/);
    const ok = await os.sql<{ id: string }[]>`
      select id from tableos.workflow where status = 'success' order by created_at desc, id`;
    expect(await attrs('#runs-table tbody tr', 'data-id')).toEqual(ok.map((r) => r.id));
    // A run started after the page loaded appears without a reload (htmx polls every 2 s).
    expect(await (await plain.start([9], { id: 'plain-live' })).result()).toBe(9);
    await page.locator('#runs-table tr[data-id="plain-live"]').waitFor({ timeout: 10_000 });
  });

  it("a run's page shows its input, output, calls with the child nested, events and messages", async () => {
    await visit('/console/workflows/parent-1', 'workflow');
    expect(await page.locator('#run-status').getAttribute('data-status')).toBe('success');
    expect(await page.locator('#run-input').textContent()).toBe('[\n  1\n]');
    expect(await page.locator('#run-output').textContent()).toBe('3');
    const [kidRow] = await os.sql<{ id: string }[]>`
      select id from tableos.workflow where parent_id = 'parent-1'`;
    const calls = await os.sql<{ workflow_id: string; seq: number }[]>`
      select workflow_id, seq from tableos.workflow_call
       where workflow_id in ('parent-1', ${kidRow!.id}) order by workflow_id, seq`;
    expect(await page.locator('#timeline .gantt-row').count()).toBe(calls.length);
    const kidSeqs = calls.filter((c) => c.workflow_id === kidRow!.id).map((c) => String(c.seq));
    expect(await attrs(`#timeline [data-child="${kidRow!.id}"] .gantt-row`, 'data-seq')).toEqual(
      kidSeqs,
    );
    expect(await texts('#events tbody td:first-child')).toEqual(['stage']);
    const sent = await os.sql<{ n: number }[]>`
      select count(*)::int as n from tableos.message where sender = 'parent-1'`;
    expect(await page.locator('#messages tbody tr').count()).toBe(sent[0]!.n);
    await visit('/console/workflows/fails-1', 'workflow-error');
    expect(await page.locator('#run-error').textContent()).toBe('Error: broken on purpose');
  });

  it('cancels a running workflow from its page after a confirmation', async () => {
    await visit('/console/workflows/hold-1', 'workflow-pending');
    expect(await page.locator('#run-status').getAttribute('data-status')).toBe('pending');
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await page.click('#cancel');
    await page.locator('#run-status[data-status="cancelled"]').waitFor({ timeout: 10_000 });
    expect(asked).toEqual(['Cancel run hold-1 and its unfinished children?']);
    const [row] = await os.sql<{ status: string }[]>`
      select status from tableos.workflow where id = 'hold-1'`;
    expect(row!.status).toBe('cancelled');
    await visit('/console/workflows?status=cancelled', 'workflows-cancelled');
    expect(await attrs('#runs-table tbody tr', 'data-id')).toEqual(['hold-1']);
  });

  it('queues, cron, mailboxes and files show what the tables hold', async () => {
    await visit('/console/queues', 'queues');
    expect(await texts('#queue-list tr[data-queue="work"] .depth')).toEqual(['3']);
    const crons = await os.sql<{ name: string }[]>`select name from tableos.cron order by name`;
    expect(await attrs('#cron-list tbody tr', 'data-cron')).toEqual(crons.map((c) => c.name));
    await visit('/console/mailboxes', 'mailboxes');
    const [inbox] = await os.sql<{ n: number }[]>`
      select count(*)::int as n from tableos.message where receiver = 'inbox'`;
    expect(await texts('tr[data-mailbox="inbox"] .pending')).toEqual([String(inbox!.n)]);
    await visit('/console/files?path=%2Fdocs', 'files');
    expect(await attrs('#dir-list tbody tr', 'data-name')).toEqual(
      (await os.fs.readdir('/docs')).map((e) => e.name),
    );
    await page.click('#dir-list a');
    await page.waitForURL(/readme\.txt/);
    expect(await page.locator('#preview').textContent()).toBe(
      (await os.fs.readFile('/docs/readme.txt')).toString(),
    );
    expect(await page.locator('#tree a[href*="docs"]').count()).toBeGreaterThan(0);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('readme.txt');
  });

  it('draws a graph with each node in the state the dag tables hold', async () => {
    await visit('/console/dags', 'dags');
    expect(await attrs('#dag-list tbody tr', 'data-dag')).toEqual(['graph-1']);
    await page.click('#dag-list a');
    await page.waitForURL(/dags\/graph-1/);
    await screenshot(page, 'dag');
    violations.dag = await seriousViolations(page);
    const nodes = await os.sql<{ id: string; status: string }[]>`
      select id, status from tableos.dag_node where dag_id = 'graph-1' order by id`;
    const drawn = await page.locator('#dag-graph g.dag-node').evaluateAll((els: unknown[]) =>
      els.map((e) => {
        const el = e as El;
        const state = (el.getAttribute('class') ?? '').replace('dag-node dag-node-', '');
        return { id: el.getAttribute('data-node'), status: state };
      }),
    );
    expect(drawn.sort((x, y) => String(x.id).localeCompare(String(y.id)))).toEqual(nodes);
    expect(await page.locator('#dag-graph path.dag-edge').count()).toBe(2);
    expect(await page.locator('#dag-graph').isVisible()).toBe(true);
  });

  it('the SQL page runs a read-only query and shows its rows', async () => {
    await visit('/console/sql', 'sql');
    await page.fill('#sql-text', 'select count(*)::int as n from tableos.workflow');
    await page.click('#run-sql');
    await page.locator('#sql-table').waitFor();
    const [n] = await os.sql<{ n: number }[]>`select count(*)::int as n from tableos.workflow`;
    expect(await texts('#sql-table tbody td')).toEqual([String(n!.n)]);
    await page.fill('#sql-text', "insert into tableos.mailbox (name) values ('nope')");
    await page.click('#run-sql');
    await expect
      .poll(() => page.locator('#sql-error').textContent())
      .toContain('read-only transaction');
    await screenshot(page, 'sql-refused');
  });

  it('axe-core finds no serious or critical violations on any page', () => {
    expect(Object.keys(violations).length).toBeGreaterThanOrEqual(8);
    const found = Object.entries(violations).flatMap(([p, vs]) =>
      vs.map(
        (v) =>
          `${p}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
      ),
    );
    expect(found).toEqual([]);
  });
});
