// The reads behind the workflow pages: a filtered, paged list (newest first, walking
// workflow_created_idx), one run's calls, children, events and messages.
import type { Sql } from '../kernel/database.js';
import type { CallRow } from '../workflows/rows.js';
import { PAGE_SIZE, sinceDate, type RunFilter } from './workflow-filter.js';

export interface RunListRow {
  id: string;
  name: string;
  status: string;
  executor_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/** One page of runs, and whether there is a next one. */
export async function listRuns(
  sql: Sql,
  f: RunFilter,
): Promise<{ rows: RunListRow[]; more: boolean }> {
  const since = f.since === undefined ? null : sinceDate(f.since);
  const rows = await sql<RunListRow[]>`
    select id, name, status, executor_id, created_at, updated_at
      from tableos.workflow
     where (${f.status ?? null}::text is null or status = ${f.status ?? null})
       and (${f.name ?? null}::text is null or name = ${f.name ?? null})
       and (${f.id ?? null}::text is null or starts_with(id, ${f.id ?? null}))
       and (${since}::timestamptz is null or created_at >= ${since})
     order by created_at desc, id
     limit ${PAGE_SIZE + 1} offset ${f.page * PAGE_SIZE}`;
  return { rows: rows.slice(0, PAGE_SIZE), more: rows.length > PAGE_SIZE };
}

export interface ChildRun {
  id: string;
  name: string;
  status: string;
  parent_id: string;
  created_at: Date;
  updated_at: Date;
}

/** Descendants of a run, up to three levels and 200 runs. */
export function childRuns(sql: Sql, id: string): Promise<ChildRun[]> {
  return sql<ChildRun[]>`
    with recursive kids as (
      select id, name, status, parent_id, created_at, updated_at, 1 as depth
        from tableos.workflow where parent_id = ${id}
      union all
      select w.id, w.name, w.status, w.parent_id, w.created_at, w.updated_at, k.depth + 1
        from tableos.workflow w join kids k on w.parent_id = k.id where k.depth < 3)
    select id, name, status, parent_id, created_at, updated_at from kids
     order by created_at limit 200`;
}

/** Calls of several runs at once, by run. */
export async function callsOf(sql: Sql, ids: string[]): Promise<Map<string, CallRow[]>> {
  const rows = await sql<CallRow[]>`
    select workflow_id, seq, kind, name, output, error, started_at, ended_at
      from tableos.workflow_call where workflow_id = any(${ids}::text[])
     order by workflow_id, seq limit 5000`;
  const out = new Map<string, CallRow[]>();
  for (const r of rows) {
    const list = out.get(r.workflow_id) ?? [];
    list.push(r);
    out.set(r.workflow_id, list);
  }
  return out;
}

export function eventsOf(
  sql: Sql,
  id: string,
): Promise<{ key: string; value: string | null; updated_at: Date }[]> {
  return sql`select key, value, updated_at from tableos.workflow_event
              where workflow_id = ${id} order by key limit 200`;
}

export interface MessageRow {
  receiver: string;
  sender: string;
  seq: string;
  topic: string;
  body: unknown;
  sent_at: Date;
}

/** Messages waiting in a run's mailbox and those it sent that are not consumed yet. */
export function messagesOf(sql: Sql, id: string): Promise<MessageRow[]> {
  return sql<MessageRow[]>`
    (select receiver, sender, seq::text, topic, body, sent_at from tableos.message
      where receiver = ${id} order by seq limit 100)
    union all
    (select receiver, sender, seq::text, topic, body, sent_at from tableos.message
      where sender = ${id} order by seq limit 100)`;
}
