// The dag_* stored procedures as typed calls: one statement, one round trip each.
import type { Sql, TransactionSql } from '../kernel/database.js';
import { queryRows } from '../kernel/query.js';
import './errors.js'; // registers the codes the procedures raise
import type { NodeRow, NormalGraph } from './graph.js';
import type { DagRow, NodeInfoRow } from './rows.js';

type Db = Sql | TransactionSql;

export interface NodeRef {
  dag: string;
  node: string;
  attempt: number;
}

export interface Begun {
  runnable: boolean;
  status: string;
  args: unknown[];
  inputs: unknown[];
  parents: { id: string; status: string; error: string | null }[];
}

export async function submit(
  sql: Db,
  id: string,
  queue: string,
  maxNodes: number,
  g: NormalGraph,
): Promise<{ id: string; existed: boolean }> {
  const deadline = g.timeoutMs === null ? null : new Date(Date.now() + g.timeoutMs).toISOString();
  const params = [
    id,
    g.hash,
    queue,
    maxNodes,
    deadline,
    JSON.stringify(g.nodes),
    JSON.stringify(g.edges),
  ];
  const [row] = await queryRows<{ id: string; existed: boolean }>(
    sql,
    'tableos.dag_submit',
    'select * from tableos.dag_submit($1, $2, $3, $4, $5::timestamptz, $6::text::jsonb, $7::text::jsonb)',
    params,
  );
  return row!;
}

export async function begin(
  sql: Db,
  ref: NodeRef,
  worker: string | null,
  executor: string | null,
): Promise<Begun> {
  const [row] = await queryRows<Begun>(
    sql,
    'tableos.dag_node_begin',
    'select * from tableos.dag_node_begin($1, $2, $3, $4, $5)',
    [ref.dag, ref.node, ref.attempt, worker, executor],
  );
  return row!;
}

/** Starts many nodes in one statement; the answers in the order of refs. */
export async function beginMany(
  sql: Db,
  items: { ref: NodeRef; worker: string | null; executor: string | null }[],
): Promise<Begun[]> {
  const rows = await queryRows<Begun & { ord: number }>(
    sql,
    'tableos.dag_node_begin_many',
    'select * from tableos.dag_node_begin_many($1::text[], $2::text[], $3::int[], $4::text[], $5::text[])',
    [
      items.map((i) => i.ref.dag),
      items.map((i) => i.ref.node),
      items.map((i) => String(i.ref.attempt)),
      items.map((i) => i.worker),
      items.map((i) => i.executor),
    ],
  );
  const out: Begun[] = [];
  for (const r of rows) out[r.ord - 1] = r;
  return out;
}

export async function finish(
  sql: Db,
  ref: NodeRef,
  output: string,
  spawn: { nodes: NodeRow[]; fanIn: NodeRow | null } | null,
): Promise<string> {
  const [row] = await queryRows<{ r: string }>(
    sql,
    'tableos.dag_node_finish',
    'select tableos.dag_node_finish($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6::text::jsonb) r',
    [
      ref.dag,
      ref.node,
      ref.attempt,
      output,
      spawn === null ? null : JSON.stringify(spawn.nodes),
      spawn?.fanIn == null ? null : JSON.stringify(spawn.fanIn),
    ],
  );
  return row!.r;
}

/** One node's outcome for finishMany. */
export interface Finished {
  ref: NodeRef;
  output: string;
  spawn: { nodes: NodeRow[]; fanIn: NodeRow | null } | null;
}

export async function finishMany(sql: Db, items: Finished[]): Promise<string[]> {
  const [row] = await queryRows<{ r: string[] }>(
    sql,
    'tableos.dag_node_finish_many',
    `select tableos.dag_node_finish_many($1::text[], $2::text[], $3::int[], $4::text[]::jsonb[],
       $5::text[]::jsonb[], $6::text[]::jsonb[]) r`,
    [
      items.map((i) => i.ref.dag),
      items.map((i) => i.ref.node),
      items.map((i) => String(i.ref.attempt)),
      items.map((i) => i.output),
      items.map((i) => (i.spawn === null ? null : JSON.stringify(i.spawn.nodes))),
      items.map((i) => (i.spawn?.fanIn == null ? null : JSON.stringify(i.spawn.fanIn))),
    ],
  );
  return row!.r;
}

export async function fail(
  sql: Db,
  ref: NodeRef,
  error: string,
  retryable: boolean,
): Promise<string> {
  const [row] = await queryRows<{ r: string }>(
    sql,
    'tableos.dag_node_fail',
    'select tableos.dag_node_fail($1, $2, $3, $4, $5) r',
    [ref.dag, ref.node, ref.attempt, error, retryable],
  );
  return row!.r;
}

export async function cancel(sql: Db, id: string, status: string, reason: string): Promise<DagRow> {
  const [row] = await queryRows<DagRow>(
    sql,
    'tableos.dag_cancel',
    'select * from tableos.dag_cancel($1, $2, $3)',
    [id, status, reason],
  );
  return row!;
}

export async function get(sql: Db, id: string): Promise<DagRow> {
  const [row] = await queryRows<DagRow>(
    sql,
    'tableos.dag_get',
    'select * from tableos.dag_get($1)',
    [id],
  );
  return row!;
}

export function list(sql: Db, status: string | null, limit: number): Promise<DagRow[]> {
  return queryRows<DagRow>(
    sql,
    'tableos.dag',
    `select * from tableos.dag where ($1::text is null or status = $1)
      order by created_at desc, id limit $2`,
    [status, limit],
  );
}

export function nodes(sql: Db, id: string): Promise<NodeInfoRow[]> {
  return queryRows<NodeInfoRow>(
    sql,
    'tableos.dag_node',
    `select n.*, coalesce(array(select e.parent from tableos.dag_edge e
                                where e.dag_id = n.dag_id and e.child = n.id order by e.position), '{}') parents
       from tableos.dag_node n where n.dag_id = $1 order by n.ready_at nulls last, n.id`,
    [id],
  );
}

/** The outputs of the sink nodes (no children, nothing spawned) by node id. */
export async function sinks(sql: Db, id: string): Promise<Record<string, unknown>> {
  const rows = await queryRows<{ id: string; output: unknown }>(
    sql,
    'tableos.dag_node',
    `select n.id, n.output from tableos.dag_node n
      where n.dag_id = $1
        and not exists (select 1 from tableos.dag_edge e where e.dag_id = n.dag_id and e.parent = n.id)
        -- A node that spawned a fan-in over nothing hands its place to that fan-in.
        and not exists (select 1 from tableos.dag_node m where m.dag_id = n.dag_id and m.spawned_by = n.id)
      order by n.id`,
    [id],
  );
  return Object.fromEntries(rows.map((r) => [r.id, r.output]));
}
