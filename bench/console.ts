// Console: the queries behind the overview and workflows pages, and a /metrics scrape, against a
// database holding 1M workflows and 10M recorded calls (spread over a week, so the last hour
// holds what a busy node makes in an hour). Each query runs warm, `--reps` times; the report
// gives p50 and p99 per query and the page loads through the gateway, and the plan of each.
//   npm run bench -- console [--workflows 1000000] [--calls-per 10] [--reps 30] [--explain]
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { readChart, readSnapshot } from '../src/console/snapshot.js';
import {
  callsOf,
  childRuns,
  eventsOf,
  listRuns,
  messagesOf,
} from '../src/console/workflow-queries.js';
import { refreshGauges } from '../src/http/metrics.js';
import type { RunFilter } from '../src/console/workflow-filter.js';
import { benchDatabase } from './support/database.js';
import { percentile, report, round } from './support/stats.js';

const NAMES = 20;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      workflows: { type: 'string', default: '1000000' },
      'calls-per': { type: 'string', default: '10' },
      reps: { type: 'string', default: '30' },
      explain: { type: 'boolean', default: false },
    },
  });
  const workflows = Number(values.workflows);
  const callsPer = Number(values['calls-per']);
  const reps = Number(values.reps);
  const db = await benchDatabase();
  const os = await TableOS.open({
    databaseUrl: db.url,
    logger: silentLogger,
    executor: false,
    http: { console: true },
  });
  try {
    const t0 = performance.now();
    await seed(os, workflows, callsPer);
    const seedS = round((performance.now() - t0) / 1000);
    console.log(`seeded ${workflows} workflows, ${workflows * callsPer} calls in ${seedS} s`);
    const sql = os.sql;
    const [sample] = await sql<{ id: string; name: string }[]>`
      select id, name from tableos.workflow where parent_id is null and status = 'success'
       order by created_at desc limit 1 offset 100`;
    const run = sample!;
    const filter = (f: Partial<RunFilter>): RunFilter => ({
      status: undefined,
      name: undefined,
      id: undefined,
      since: undefined,
      page: 0,
      ...f,
    });
    const rare = `job-${NAMES - 1}`;
    const queries: Record<string, () => Promise<unknown>> = {
      'overview.snapshot': () => readSnapshot(sql),
      'overview.chart': () => readChart(sql),
      'workflows.list': () => listRuns(sql, filter({})),
      'workflows.list.page40': () => listRuns(sql, filter({ page: 40 })),
      'workflows.list.status_error': () => listRuns(sql, filter({ status: 'error' })),
      'workflows.list.status_max_recovery': () =>
        listRuns(sql, filter({ status: 'max_recovery_exceeded' })),
      'workflows.list.rare_name': () => listRuns(sql, filter({ name: rare })),
      // Nothing matches: the walk down workflow_created_idx reads the whole index.
      'workflows.list.no_match': () => listRuns(sql, filter({ name: 'absent' })),
      'workflows.list.id_prefix': () => listRuns(sql, filter({ id: run.id.slice(0, 6) })),
      'workflows.list.id_prefix_no_match': () => listRuns(sql, filter({ id: 'zz' })),
      'workflows.list.since_1h': () => listRuns(sql, filter({ since: '1h' })),
      'workflows.list.old_since': () =>
        listRuns(sql, filter({ since: new Date(Date.now() - 6 * 86_400_000).toISOString() })),
      'workflow.row': () => sql`select * from tableos.workflow where id = ${run.id}`,
      'workflow.children': () => childRuns(sql, run.id),
      'workflow.calls': () => callsOf(sql, [run.id]),
      'workflow.events': () => eventsOf(sql, run.id),
      'workflow.messages': () => messagesOf(sql, run.id),
      'metrics.gauges': () => refreshGauges(os.kernel),
    };
    const pages: Record<string, string> = {
      'page.overview': '/console',
      'page.workflows': '/console/workflows',
      'page.workflows.status_error': '/console/workflows?status=error',
      'page.workflow': `/console/workflows/${encodeURIComponent(run.id)}`,
      'scrape.metrics': '/metrics',
    };
    for (const [url] of Object.entries(pages)) await os.http.inject(pages[url]!);
    const out: Record<string, { p50_ms: number; p99_ms: number }> = {};
    for (const [name, q] of Object.entries(queries)) {
      await q();
      out[name] = await time(q, reps);
    }
    for (const [name, url] of Object.entries(pages)) {
      out[name] = await time(async () => {
        const res = await os.http.inject(url);
        if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
      }, reps);
    }
    for (const [name, f] of Object.entries(out))
      console.log(`${name.padEnd(40)} p50 ${f.p50_ms} ms  p99 ${f.p99_ms} ms`);
    if (values.explain) await explainAll(os, run.id, rare);
    const queryP50 = Object.entries(out).filter(
      ([k]) => !k.startsWith('page.') && !k.startsWith('scrape.'),
    );
    const worst = queryP50.reduce((a, b) => (b[1].p50_ms > a[1].p50_ms ? b : a));
    report({
      bench: 'console',
      workflows,
      calls: workflows * callsPer,
      seed_s: seedS,
      queries: out,
      worst_query: { name: worst[0], ...worst[1] },
      queries_under_50ms: queryP50.every(([, f]) => f.p99_ms < 50),
      metrics_scrape_p50_ms: out['scrape.metrics']!.p50_ms,
      target: { query_ms: 50, scrape_ms: 20 },
    });
  } finally {
    await os.close();
    await db.close();
  }
}

async function time(
  fn: () => Promise<unknown>,
  reps: number,
): Promise<{ p50_ms: number; p99_ms: number }> {
  const lat: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    await fn();
    lat.push(performance.now() - s);
  }
  lat.sort((a, b) => a - b);
  return { p50_ms: round(percentile(lat, 50), 2), p99_ms: round(percentile(lat, 99), 2) };
}

/**
 * Runs over the last 7 days (a few percent failed, cancelled, pending or enqueued, one in a
 * thousand out of recovery attempts), 20 workflow names of falling frequency, one run in ten
 * with a child, events and messages. Seeding is not measured, so it commits without waiting
 * for the flush and builds the call table's key after the load.
 */
async function seed(os: TableOS, n: number, callsPer: number): Promise<void> {
  const sql = os.sql;
  await sql.begin(async (tx) => {
    await tx`set local synchronous_commit = off`;
    await tx`
      insert into tableos.workflow (id, name, status, input, output, executor_id, parent_id,
                                    created_at, updated_at)
      select id, name, status, '[1]', case when status = 'success' then '"ok"' end,
             case when status = 'pending' then 'exec-' || (i % 4) end, parent, t, t + interval '2 seconds'
        from (
          select i, 'wf-' || lpad(i::text, 8, '0') || '-' || md5(i::text) as id,
                 'job-' || least(${NAMES - 1}, floor(-ln(random()) * 3)::int) as name,
                 case when r < 0.001 then 'max_recovery_exceeded' when r < 0.021 then 'error'
                      when r < 0.026 then 'cancelled' when r < 0.028 then 'pending'
                      when r < 0.030 then 'enqueued' else 'success' end as status,
                 case when i % 10 = 0 and i > 1 then 'wf-' || lpad((i - 1)::text, 8, '0') || '-' || md5((i - 1)::text) end as parent,
                 now() - (${n}::int - i) * (interval '7 days' / ${n}::int) as t
            from (select i, random() as r from generate_series(1, ${n}::int) i) g) s`;
    await tx`alter table tableos.workflow_call drop constraint workflow_call_pkey`;
    await tx`
      insert into tableos.workflow_call (workflow_id, seq, kind, name, output, started_at, ended_at)
      select w.id, s, case when s % 3 = 0 then 'procedure' else 'step' end, 'call-' || s, '"r"',
             w.created_at + s * interval '10 ms', w.created_at + s * interval '10 ms' + interval '5 ms'
        from tableos.workflow w, generate_series(0, ${callsPer - 1}::int) s`;
    await tx`alter table tableos.workflow_call add constraint workflow_call_pkey primary key (workflow_id, seq)`;
    await tx`
      insert into tableos.workflow_event (workflow_id, key, value)
      select id, 'progress', '"done"' from tableos.workflow where random() < 0.1`;
    // Messages waiting in 50k mailboxes, from runs: the workflow page lists a run's both ways.
    await tx`
      insert into tableos.message (receiver, sender, topic, body)
      select 'box-' || (i % 50000), 'wf-' || lpad((i * 7 % ${n}::int + 1)::text, 8, '0') || '-' || md5((i * 7 % ${n}::int + 1)::text),
             'topic', '{"n": 1}'::jsonb
        from generate_series(1, 200000) i`;
  });
  await sql`vacuum analyze tableos.workflow`;
  await sql`vacuum analyze tableos.workflow_call`;
  await sql`vacuum analyze tableos.workflow_event`;
  await sql`vacuum analyze tableos.message`;
}

async function explainAll(os: TableOS, id: string, rare: string): Promise<void> {
  const sql = os.sql;
  const plans: Record<string, string> = {
    'list rare status': `select id from tableos.workflow where status = 'max_recovery_exceeded' order by created_at desc, id limit 51`,
    'list rare name': `select id from tableos.workflow where name = '${rare}' order by created_at desc, id limit 51`,
    'list no match': `select id from tableos.workflow where name = 'absent' order by created_at desc, id limit 51`,
    'list id prefix (no match)': `select id from tableos.workflow where starts_with(id, 'zz') and id >= 'zz' and id < 'zz' || chr(1114111) order by created_at desc, id limit 51`,
    'overview chart': `select date_trunc('minute', created_at), status, count(*) from tableos.workflow where created_at > date_trunc('minute', now()) - interval '59 minutes' group by 1, 2`,
    'messages sent': `select * from tableos.message where receiver = any(array(select distinct unnest(string_to_array(c.name, ',')) from tableos.workflow_call c where c.workflow_id = '${id}' and c.kind = 'send')) and sender = '${id}' order by seq limit 100`,
  };
  for (const [name, q] of Object.entries(plans)) {
    const rows = await sql.unsafe<{ 'QUERY PLAN': string }[]>(`explain (analyze, buffers) ${q}`);
    console.log(`-- ${name}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
  }
}
