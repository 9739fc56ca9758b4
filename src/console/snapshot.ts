// The state of the whole system at a glance, in one bounded statement: executors, queues with
// their depth, active tasks, and runs of the last hour by status. Shown by the console's
// overview and by `tableos top`. Every part walks a small table or an index.
import type { Sql } from '../kernel/database.js';

export interface ExecutorView {
  id: string;
  host: string;
  pid: number;
  status: string;
  heartbeatAgeS: number;
  leaseLeftS: number;
}

export interface QueueView {
  name: string;
  policy: string;
  paused: boolean;
  depth: number;
  running: number;
  concurrency: number | null;
}

export interface Snapshot {
  executors: ExecutorView[];
  queues: QueueView[];
  /** Tasks in the states a partial index covers: queued, assigned, running. */
  tasks: Record<string, number>;
  /** Runs created in the last hour, by status. */
  workflows: Record<string, number>;
  /** Runs pending anywhere, whenever created. */
  pending: number;
  /** Runs created in the last minute. */
  startedLastMinute: number;
}

export const TASK_STATES = ['queued', 'assigned', 'running'] as const;
export const WORKFLOW_STATUSES = [
  'enqueued',
  'pending',
  'success',
  'error',
  'cancelled',
  'max_recovery_exceeded',
] as const;

export async function readSnapshot(sql: Sql): Promise<Snapshot> {
  const [row] = await sql<Snapshot[]>`
    select
      (select coalesce(json_agg(e order by e.status, e.id), '[]') from (
         select id, host, pid, status,
                round(extract(epoch from now() - heartbeat_at)::numeric, 1)::float8 as "heartbeatAgeS",
                round(extract(epoch from lease_until - now())::numeric, 1)::float8 as "leaseLeftS"
           from tableos.executor
          where status = 'alive' or ended_at > now() - interval '10 minutes'
          order by status, id limit 100) e) as executors,
      (select coalesce(json_agg(q order by q.name), '[]') from (
         select q.name, q.policy, q.paused, q.running, q.concurrency,
                (select count(*)::int from tableos.task t
                  where t.queue = q.name and t.state = 'queued') as depth
           from tableos.queue q order by q.name limit 200) q) as queues,
      (select coalesce(json_object_agg(state, n), '{}') from (
         select state, count(*)::int as n from tableos.task
          where state in ('queued', 'assigned', 'running') group by state) t) as tasks,
      (select coalesce(json_object_agg(status, n), '{}') from (
         select status, count(*)::int as n from tableos.workflow
          where created_at > now() - interval '1 hour' group by status) w) as workflows,
      (select count(*)::int from tableos.workflow where status = 'pending') as pending,
      (select count(*)::int from tableos.workflow
        where created_at > now() - interval '1 minute') as "startedLastMinute"`;
  return row!;
}

export interface ChartData {
  /** Minute starts, in Unix seconds. */
  x: number[];
  series: { label: string; values: number[] }[];
}

/** Runs created per minute over the last `minutes`, by their status now. */
export async function readChart(sql: Sql, minutes = 60): Promise<ChartData> {
  const rows = await sql<{ t: number; status: string; n: number }[]>`
    select extract(epoch from date_trunc('minute', created_at))::int8::float8 as t, status,
           count(*)::int as n
      from tableos.workflow
     where created_at > date_trunc('minute', now()) - make_interval(mins => ${minutes - 1})
     group by 1, 2`;
  const [now] = await sql<{ t: number }[]>`
    select extract(epoch from date_trunc('minute', now()))::int8::float8 as t`;
  const end = now!.t;
  const x = Array.from({ length: minutes }, (_, i) => end - (minutes - 1 - i) * 60);
  const index = new Map(x.map((t, i) => [t, i]));
  const series = WORKFLOW_STATUSES.map((label) => ({
    label,
    values: x.map(() => 0),
  }));
  for (const r of rows) {
    const s = series.find((x) => x.label === r.status);
    const i = index.get(r.t);
    if (s !== undefined && i !== undefined) s.values[i] = r.n;
  }
  return { x, series: series.filter((s) => s.values.some((v) => v > 0)) };
}
