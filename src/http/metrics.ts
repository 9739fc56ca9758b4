// GET /metrics: the node's metrics in the Prometheus text format. Counters come from memory;
// the gauges whose truth is a table are read by one bounded statement per scrape (each part
// walks a partial index or a small table).
import type { Kernel } from '../kernel/kernel.js';
import type { GatewayApp } from './context.js';

interface ScrapeRow {
  executors: number;
  depth: Record<string, number>;
  tasks: Record<string, number>;
  pending: number;
  conns: Record<string, number>;
}

const ACTIVE_TASK_STATES = ['queued', 'assigned', 'running'] as const;

/** Sets the table-derived gauges from one statement. */
export async function refreshGauges(kernel: Kernel): Promise<void> {
  const [row] = await kernel.sql<ScrapeRow[]>`
    select
      (select count(*)::int from tableos.executor where status = 'alive') as executors,
      (select coalesce(json_object_agg(name, n), '{}') from (
         select q.name, (select count(*)::int from tableos.task t
                          where t.queue = q.name and t.state = 'queued') as n
           from tableos.queue q) d) as depth,
      (select coalesce(json_object_agg(state, n), '{}') from (
         select state, count(*)::int as n from tableos.task
          where state in ('queued', 'assigned', 'running') group by state) t) as tasks,
      (select count(*)::int from tableos.workflow where status = 'pending') as pending,
      (select coalesce(json_object_agg(coalesce(state, 'unknown'), n), '{}') from (
         select state, count(*)::int as n from pg_stat_activity
          where datname = current_database() and application_name = 'tableos'
          group by state) c) as conns`;
  if (row === undefined) return;
  const m = kernel.metrics;
  m.executorsAlive.set(row.executors);
  m.queueDepth.reset();
  for (const [queue, n] of Object.entries(row.depth)) m.queueDepth.set({ queue }, n);
  for (const state of ACTIVE_TASK_STATES) m.tasks.set({ state }, row.tasks[state] ?? 0);
  m.workflows.set({ status: 'pending' }, row.pending);
  m.poolMax.set(kernel.config.poolSize);
  m.dbConnections.reset();
  for (const [state, n] of Object.entries(row.conns)) m.dbConnections.set({ state }, n);
}

export function registerMetrics(app: GatewayApp, kernel: Kernel): void {
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    await refreshGauges(kernel);
    const reg = kernel.metrics.registry;
    return reply.type(reg.contentType).send(await reg.metrics());
  });
}
