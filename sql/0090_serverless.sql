-- 0090_serverless: graphs (DAGs) of serverless functions as rows. Every node that becomes
-- ready is a scheduler task (the one dispatcher) with its memory and locality key; the
-- statement that records a node's outcome also makes its children ready, in one transaction.
-- Lock order, everywhere: the node's own row, then the dag row, then other node rows, then
-- (through tableos.sched_enqueue) scheduler partitions. dag_cancel takes the dag row first
-- and skips node rows that are locked, so it never waits on a finishing node.

create table tableos.dag (
  id text primary key check (id ~ '^[A-Za-z0-9._:-]{1,128}$'),
  -- A digest of the submitted graph: the same id with another graph is refused.
  graph_hash text not null,
  queue text not null,
  status text not null default 'running'
    check (status in ('running', 'done', 'failed', 'cancelled', 'timed_out')),
  node_count integer not null check (node_count > 0),
  -- Nodes not yet done, failed or cancelled; the dag is done when it reaches 0.
  remaining integer not null check (remaining >= 0),
  max_nodes integer not null,
  deadline timestamptz,
  error text,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);

comment on table tableos.dag is
  'Graphs of serverless functions: status, the nodes still to finish, deadline. Written only by dag_* procedures.';

create table tableos.dag_node (
  dag_id text not null references tableos.dag (id) on delete cascade,
  id text not null check (id ~ '^[A-Za-z0-9._:/-]+$' and length(id) <= 512),
  fn text not null,
  kind text not null check (kind in ('procedure', 'step')),
  args jsonb not null default '[]',
  status text not null default 'waiting'
    check (status in ('waiting', 'ready', 'running', 'done', 'failed', 'cancelled')),
  -- Parents not yet finished; the node is made ready when it reaches 0.
  waiting_on integer not null check (waiting_on >= 0),
  memory_mb integer not null default 0 check (memory_mb >= 0),
  locality_key text,
  max_attempts integer not null default 1 check (max_attempts > 0),
  backoff_ms integer not null default 500 check (backoff_ms >= 0),
  on_failure text not null default 'fail' check (on_failure in ('fail', 'continue')),
  -- The attempt whose task is queued or running (0 before the node is ready).
  attempts integer not null default 0,
  task_id bigint,
  worker_id text,
  executor_id text,
  output jsonb,
  error text,
  -- The node whose output made this one (dynamic graphs).
  spawned_by text,
  ready_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  primary key (dag_id, id)
);

comment on table tableos.dag_node is
  'One row per node of a graph: its function, state, attempt, placement, memory, timing and output.';

create table tableos.dag_edge (
  dag_id text not null,
  parent text not null,
  child text not null,
  -- Order among the child's parents: the order of its inputs.
  position integer not null,
  primary key (dag_id, child, position),
  unique (dag_id, parent, child),
  foreign key (dag_id, parent) references tableos.dag_node (dag_id, id) on delete cascade,
  foreign key (dag_id, child) references tableos.dag_node (dag_id, id) on delete cascade
);

create index dag_edge_parent_idx on tableos.dag_edge (dag_id, parent);
create index dag_running_idx on tableos.dag (created_at) where status = 'running';

comment on table tableos.dag_edge is
  'Parent to child edges; a child runs on its parents'' outputs in position order.';

-- The kind of the scheduler task that runs a node of function fn.
create function tableos.dag_task_kind(p_fn text) returns text
language sql immutable as $$ select 'dag:' || p_fn $$;

-- Makes ready the nodes of p_dag whose parents have all finished (waiting_on = 0) among
-- p_nodes, and enqueues one scheduler task each (attempt 1).
create function tableos.dag_make_ready(p_dag tableos.dag, p_nodes text[]) returns integer
language plpgsql as $$
declare
  v_ids text[];
  v_n integer;
begin
  with r as (
    update tableos.dag_node n
       set status = 'ready', attempts = 1, ready_at = clock_timestamp()
     where n.dag_id = p_dag.id and n.id = any (p_nodes) and n.status = 'waiting' and n.waiting_on = 0
    returning n.id
  )
  select array_agg(r.id order by r.id) into v_ids from r;
  v_n := coalesce(cardinality(v_ids), 0);
  if v_n > 0 then
    perform tableos.dag_enqueue(p_dag, v_ids, null);
  end if;
  return v_n;
end;
$$;

-- Enqueues the current attempt of each node in p_nodes as a scheduler task (run at p_run_at,
-- or now), keyed by dag, node and attempt so a second enqueue of an attempt finds the first.
create function tableos.dag_enqueue(p_dag tableos.dag, p_nodes text[], p_run_at timestamptz)
returns void
language plpgsql as $$
declare
  v_rows record;
begin
  select array_agg(p_dag.queue order by n.id) q,
         array_agg(tableos.dag_task_kind(n.fn) order by n.id) k,
         array_agg(jsonb_build_object('dag', n.dag_id, 'node', n.id, 'attempt', n.attempts) order by n.id) p,
         array_agg(0 order by n.id) pr,
         array_agg(p_run_at order by n.id) ra,
         array_agg(n.memory_mb order by n.id) m,
         array_agg(n.locality_key order by n.id) l,
         array_agg(null::text order by n.id) pk,
         array_agg(null::text order by n.id) dd,
         -- A handler that loses the database past the reconnect deadline is run again.
         array_agg(3 order by n.id) ma,
         array_agg('dag/' || n.dag_id || '/' || n.id || '/' || n.attempts order by n.id) ky,
         array_agg(n.id order by n.id) ids
    into v_rows
    from tableos.dag_node n where n.dag_id = p_dag.id and n.id = any (p_nodes);
  if v_rows.ids is null then
    return;
  end if;
  with t as (
    select * from tableos.sched_enqueue(v_rows.q, v_rows.k, v_rows.p, v_rows.pr, v_rows.ra, v_rows.m,
                                        v_rows.l, v_rows.pk, v_rows.dd, v_rows.ma, v_rows.ky)
  )
  update tableos.dag_node n set task_id = t.id
    from t join unnest(v_rows.ids) with ordinality u(id, ord) on u.ord = t.ord
   where n.dag_id = p_dag.id and n.id = u.id;
end;
$$;

-- Ends a dag whose last node finished; notifies result waiters.
create function tableos.dag_settle(p_dag text) returns void
language plpgsql as $$
begin
  update tableos.dag set remaining = remaining - 1 where id = p_dag;
  update tableos.dag set status = 'done', finished_at = clock_timestamp()
   where id = p_dag and status = 'running' and remaining = 0;
  if found then
    perform pg_notify('tableos_dag', p_dag);
  end if;
end;
$$;

-- After p_node finished (done, or failed with on_failure = continue): its children have one
-- parent fewer to wait for; those with none left are made ready while the dag runs.
create function tableos.dag_release_children(p_dag tableos.dag, p_node text) returns void
language plpgsql as $$
declare
  v_children text[];
begin
  with c as (
    update tableos.dag_node n set waiting_on = n.waiting_on - 1
      from tableos.dag_edge e
     where e.dag_id = p_dag.id and e.parent = p_node and n.dag_id = e.dag_id and n.id = e.child
       and n.status = 'waiting'
    returning n.id, n.waiting_on
  )
  select array_agg(c.id) filter (where c.waiting_on = 0) into v_children from c;
  if p_dag.status = 'running' and v_children is not null then
    perform tableos.dag_make_ready(p_dag, v_children);
  end if;
end;
$$;
