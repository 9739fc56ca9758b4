// The reads behind the workflow pages: a filtered, paged list (newest first, walking
// workflow_created_idx), one run's calls, children, events and messages.
import type { PendingQuery, Row } from 'postgres';
import type { Sql } from '../kernel/database.js';
import { InvalidArgumentError } from '../kernel/errors.js';
import type { CallRow } from '../workflows/rows.js';
import { WORKFLOW_STATUSES } from './snapshot.js';
import { PAGE_SIZE, sinceDate, type RunFilter } from './workflow-filter.js';

export interface RunListRow {
  id: string;
  name: string;
  status: string;
  executor_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * One page of runs, and whether there is a next one. Each filter is a condition only when set,
 * so the planner sees the one index that serves it: `name` walks workflow_name_idx, a status
 * other than success and pending walks the partial workflow_rare_status_idx (the status is
 * written as a literal from the checked list, so even a cached plan can use that index), an
 * id prefix walks the primary key where the database orders text bytewise (collation C, as
 * the embedded PostgreSQL does), and the rest walk workflow_created_idx newest first.
 */
export async function listRuns(
  sql: Sql,
  f: RunFilter,
): Promise<{ rows: RunListRow[]; more: boolean }> {
  const conds: PendingQuery<Row[]>[] = [];
  if (f.status !== undefined) {
    if (!(WORKFLOW_STATUSES as readonly string[]).includes(f.status))
      throw new InvalidArgumentError(`unknown workflow status ${JSON.stringify(f.status)}`);
    conds.push(sql`status = ${sql.unsafe(`'${f.status}'`)}`);
  }
  if (f.name !== undefined) conds.push(sql`name = ${f.name}`);
  if (f.id !== undefined) {
    conds.push(sql`starts_with(id, ${f.id})`);
    if (await bytewiseText(sql))
      conds.push(sql`id >= ${f.id} and id < ${f.id + String.fromCodePoint(0x10ffff)}`);
  }
  if (f.since !== undefined) conds.push(sql`created_at >= ${sinceDate(f.since)}`);
  const where = conds.reduce((a, c) => sql`${a} and ${c}`, sql`true`);
  const rows = await sql<RunListRow[]>`
    select id, name, status, executor_id, created_at, updated_at
      from tableos.workflow
     where ${where}
     order by created_at desc, id
     limit ${PAGE_SIZE + 1} offset ${f.page * PAGE_SIZE}`;
  return { rows: rows.slice(0, PAGE_SIZE), more: rows.length > PAGE_SIZE };
}

const bytewise = new WeakMap<Sql, Promise<boolean>>();

/** Whether tableos.workflow.id sorts bytewise, so a prefix is a range of the primary key. */
function bytewiseText(sql: Sql): Promise<boolean> {
  let known = bytewise.get(sql);
  if (known === undefined) {
    known = sql<{ c: boolean }[]>`
      select coalesce(co.collname, d.datcollate) in ('C', 'POSIX', 'ucs_basic') as c
        from pg_attribute a
        join pg_database d on d.datname = current_database()
        left join pg_collation co on co.oid = a.attcollation and co.collname <> 'default'
       where a.attrelid = 'tableos.workflow'::regclass and a.attname = 'id'`.then(
      (r) => r[0]?.c === true,
    );
    bytewise.set(sql, known);
  }
  return known;
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

/**
 * Messages waiting in a run's mailbox, and those it sent that are not consumed yet: found in
 * the mailboxes its recorded send calls name (the primary key's receiver prefix), so the read
 * is bounded by those mailboxes, not by every message waiting anywhere.
 */
export function messagesOf(sql: Sql, id: string): Promise<MessageRow[]> {
  return sql<MessageRow[]>`
    (select receiver, sender, seq::text, topic, body, sent_at from tableos.message
      where receiver = ${id} order by seq limit 100)
    union all
    (select receiver, sender, seq::text, topic, body, sent_at from tableos.message
      where receiver = any(array(
              select distinct unnest(string_to_array(c.name, ','))
                from tableos.workflow_call c
               where c.workflow_id = ${id} and c.kind = 'send'))
        and sender = ${id}
      order by seq limit 100)`;
}
