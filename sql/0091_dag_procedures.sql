-- 0091_dag_procedures: submit, run, finish, fail, cancel and time out graphs; the locality
-- policy of the queue graphs run on (made by the first submit), with a bounded wait.

-- Refuses nodes that ask for more memory than any live worker of the queue's partition has
-- in total (such a node could never start). With no live worker there is nothing to check.
create function tableos.dag_check_memory(p_queue text, p_nodes jsonb) returns void
language plpgsql as $$
declare
  v_max integer;
  v_bad text;
begin
  select max(coalesce(w.mem_total_mb, 2147483647)) into v_max
    from tableos.worker w join tableos.queue q on q.partition = w.partition
   where q.name = p_queue and w.status = 'alive';
  if v_max is null then
    return;
  end if;
  select string_agg(format('%s (%s MB)', to_json(x->>'id'), x->>'memory_mb'), ', ') into v_bad
    from jsonb_array_elements(p_nodes) x where (x->>'memory_mb')::integer > v_max;
  if v_bad is not null then
    perform tableos.raise_error('TABLEOS_DAG_MEMORY',
      format('nodes %s ask for more memory than any worker has (the largest offers %s MB); lower memoryMb or start a worker with more', v_bad, v_max));
  end if;
end;
$$;

-- Submits a graph under p_id (the idempotency key): the same id with the same graph digest
-- returns the dag made before (existed), with another digest it is refused. Nodes are
-- {id, fn, kind, args, memory_mb, locality_key, max_attempts, backoff_ms, on_failure}; edges
-- [parent, child, position]. Roots are enqueued in the same transaction.
create function tableos.dag_submit(
  p_id text, p_hash text, p_queue text, p_max_nodes integer, p_deadline timestamptz,
  p_nodes jsonb, p_edges jsonb
) returns table (id text, existed boolean)
language plpgsql as $$
declare
  v_old tableos.dag;
  v_dag tableos.dag;
  v_n integer := jsonb_array_length(p_nodes);
begin
  select * into v_old from tableos.dag d where d.id = p_id;
  if found then
    if v_old.graph_hash <> p_hash then
      perform tableos.raise_error('TABLEOS_DAG_CONFLICT',
        format('dag %s exists with another graph; submit a different graph under a new id', to_json(p_id)));
    end if;
    return query select p_id, true;
    return;
  end if;
  if v_n = 0 then
    perform tableos.raise_error('TABLEOS_DAG_INVALID', 'a graph needs at least one node');
  end if;
  if v_n > p_max_nodes then
    perform tableos.raise_error('TABLEOS_DAG_TOO_LARGE',
      format('the graph has %s nodes; at most %s are allowed', v_n, p_max_nodes));
  end if;
  -- The first graph on a queue makes it, with the dag_locality policy.
  if not exists (select 1 from tableos.queue q where q.name = p_queue) then
    perform tableos.sched_queue_upsert(p_queue, 'dag_locality', 0, null, null, null, null, null);
  end if;
  perform tableos.dag_check_memory(p_queue, p_nodes);
  insert into tableos.dag as d (id, graph_hash, queue, node_count, remaining, max_nodes, deadline)
  values (p_id, p_hash, p_queue, v_n, v_n, p_max_nodes, p_deadline)
  on conflict on constraint dag_pkey do nothing
  returning * into v_dag;
  if v_dag.id is null then
    -- A concurrent submit of the same id committed first: answer as a second call would.
    return query select * from tableos.dag_submit(p_id, p_hash, p_queue, p_max_nodes, p_deadline, p_nodes, p_edges);
    return;
  end if;
  insert into tableos.dag_node (dag_id, id, fn, kind, args, memory_mb, locality_key, max_attempts,
                                backoff_ms, on_failure, waiting_on)
  select p_id, x->>'id', x->>'fn', x->>'kind', coalesce(x->'args', '[]'), (x->>'memory_mb')::integer,
         x->>'locality_key', (x->>'max_attempts')::integer, (x->>'backoff_ms')::integer,
         x->>'on_failure',
         (select count(*) from jsonb_array_elements(p_edges) e where e->>1 = x->>'id')
    from jsonb_array_elements(p_nodes) x;
  insert into tableos.dag_edge (dag_id, parent, child, position)
  select p_id, e->>0, e->>1, (e->>2)::integer from jsonb_array_elements(p_edges) e;
  perform tableos.dag_make_ready(v_dag,
    array(select n.id from tableos.dag_node n where n.dag_id = p_id and n.waiting_on = 0));
  if p_deadline is not null then
    perform tableos.sched_enqueue(array[p_queue], array['dag.timeout'],
      array[jsonb_build_object('dag', p_id)], array[0], array[p_deadline], array[0], array[null::text],
      array[null::text], array[null::text], array[3], array['dag/' || p_id || '/timeout']);
  end if;
  return query select p_id, false;
end;
$$;

-- Starts attempt p_attempt of a node on this worker: locks the node row (a procedure node
-- holds it until its transaction ends, so a second run of the same attempt waits, then finds
-- it done) and returns its arguments and its parents' outputs in edge order. Not runnable when
-- the node is finished, in another attempt, or its dag has stopped (then it is cancelled).
create function tableos.dag_node_begin(
  p_dag text, p_node text, p_attempt integer, p_worker text, p_executor text
) returns table (runnable boolean, status text, args jsonb, inputs jsonb, parents jsonb)
language plpgsql as $$
declare
  v_n tableos.dag_node;
  v_d tableos.dag;
begin
  select * into v_n from tableos.dag_node n where n.dag_id = p_dag and n.id = p_node for update;
  if not found then
    return query select false, 'missing'::text, null::jsonb, null::jsonb, null::jsonb;
    return;
  end if;
  select * into v_d from tableos.dag d where d.id = p_dag;
  if v_n.status not in ('ready', 'running') or v_n.attempts <> p_attempt then
    return query select false, v_n.status, null::jsonb, null::jsonb, null::jsonb;
    return;
  end if;
  if v_d.status <> 'running' or v_d.deadline <= clock_timestamp() then
    if v_d.status <> 'running' then
      update tableos.dag_node n set status = 'cancelled', finished_at = clock_timestamp()
       where n.dag_id = p_dag and n.id = p_node;
    end if;
    return query select false, 'cancelled'::text, null::jsonb, null::jsonb, null::jsonb;
    return;
  end if;
  update tableos.dag_node n
     set status = 'running', started_at = clock_timestamp(), worker_id = p_worker, executor_id = p_executor
   where n.dag_id = p_dag and n.id = p_node;
  return query
    select true, 'running'::text, v_n.args,
           coalesce(jsonb_agg(coalesce(p.output, 'null'::jsonb) order by e.position), '[]'),
           coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'status', p.status, 'error', p.error)
                              order by e.position), '[]')
      from tableos.dag_edge e join tableos.dag_node p on p.dag_id = e.dag_id and p.id = e.parent
     where e.dag_id = p_dag and e.child = p_node;
end;
$$;

-- Records a node's output and makes its children ready, in one transaction (for a procedure
-- node, the transaction of its own writes). p_spawn: new nodes made from the output (ids are
-- prefixed with the node's id and /), each a child of this node; p_fan_in: one more node over
-- all of them, which takes over this node's existing children. 'stale' when the attempt is
-- no longer the node's running one (a second run of a step that finished).
create function tableos.dag_node_finish(
  p_dag text, p_node text, p_attempt integer, p_output jsonb, p_spawn jsonb, p_fan_in jsonb
) returns text
language plpgsql as $$
declare
  v_n tableos.dag_node;
  v_d tableos.dag;
  v_k integer;
  v_fan text;
begin
  select * into v_n from tableos.dag_node n where n.dag_id = p_dag and n.id = p_node for update;
  if not found or v_n.status <> 'running' or v_n.attempts <> p_attempt then
    return 'stale';
  end if;
  select * into v_d from tableos.dag d where d.id = p_dag for update;
  update tableos.dag_node n
     set status = 'done', output = p_output, error = null, finished_at = clock_timestamp()
   where n.dag_id = p_dag and n.id = p_node;
  if p_spawn is not null and v_d.status = 'running' then
    v_k := jsonb_array_length(p_spawn) + case when p_fan_in is null then 0 else 1 end;
    if v_d.node_count + v_k > v_d.max_nodes then
      perform tableos.raise_error('TABLEOS_DAG_TOO_LARGE',
        format('node %s would grow dag %s to %s nodes; at most %s are allowed',
               to_json(p_node), to_json(p_dag), v_d.node_count + v_k, v_d.max_nodes));
    end if;
    perform tableos.dag_check_memory(v_d.queue,
      p_spawn || case when p_fan_in is null then '[]'::jsonb else jsonb_build_array(p_fan_in) end);
    insert into tableos.dag_node (dag_id, id, fn, kind, args, memory_mb, locality_key, max_attempts,
                                  backoff_ms, on_failure, waiting_on, spawned_by)
    select p_dag, p_node || '/' || (x->>'id'), x->>'fn', x->>'kind', coalesce(x->'args', '[]'),
           (x->>'memory_mb')::integer, x->>'locality_key', (x->>'max_attempts')::integer,
           (x->>'backoff_ms')::integer, x->>'on_failure', 1, p_node
      from jsonb_array_elements(p_spawn) x;
    if p_fan_in is not null then
      v_fan := p_node || '/' || (p_fan_in->>'id');
      insert into tableos.dag_node (dag_id, id, fn, kind, args, memory_mb, locality_key, max_attempts,
                                    backoff_ms, on_failure, waiting_on, spawned_by)
      values (p_dag, v_fan, p_fan_in->>'fn', p_fan_in->>'kind', coalesce(p_fan_in->'args', '[]'),
              (p_fan_in->>'memory_mb')::integer, p_fan_in->>'locality_key',
              (p_fan_in->>'max_attempts')::integer, (p_fan_in->>'backoff_ms')::integer,
              p_fan_in->>'on_failure', jsonb_array_length(p_spawn), p_node);
      -- The fan-in stands in for this node towards its children.
      update tableos.dag_edge e set parent = v_fan where e.dag_id = p_dag and e.parent = p_node;
      insert into tableos.dag_edge (dag_id, parent, child, position)
      select p_dag, p_node || '/' || (x->>'id'), v_fan, (o - 1)::integer
        from jsonb_array_elements(p_spawn) with ordinality s(x, o);
    end if;
    insert into tableos.dag_edge (dag_id, parent, child, position)
    select p_dag, p_node, p_node || '/' || (x->>'id'), 0 from jsonb_array_elements(p_spawn) x;
    update tableos.dag d set node_count = d.node_count + v_k, remaining = d.remaining + v_k
     where d.id = p_dag;
    perform tableos.dag_release_children(v_d, p_node);
    if v_fan is not null then
      perform tableos.dag_make_ready(v_d, array[v_fan]);
    end if;
  else
    perform tableos.dag_release_children(v_d, p_node);
  end if;
  perform tableos.dag_settle(p_dag);
  return 'done';
end;
$$;

-- Stops a running dag (p_status failed, cancelled or timed_out): nodes not started are
-- cancelled with their queued tasks; running nodes finish, and start nothing after them.
-- The caller holds the dag row.
create function tableos.dag_stop(p_dag text, p_status text, p_reason text) returns void
language plpgsql as $$
declare
  v_tasks bigint[];
  v_t bigint;
begin
  update tableos.dag set status = p_status, error = p_reason, finished_at = clock_timestamp()
   where id = p_dag;
  with c as (
    select n.dag_id, n.id from tableos.dag_node n
     where n.dag_id = p_dag and n.status in ('waiting', 'ready')
     for update skip locked
  ), u as (
    update tableos.dag_node n set status = 'cancelled', finished_at = clock_timestamp()
      from c where n.dag_id = c.dag_id and n.id = c.id
    returning n.task_id
  )
  select array_agg(u.task_id) into v_tasks from u where u.task_id is not null;
  foreach v_t in array coalesce(v_tasks, '{}') loop
    begin
      perform tableos.sched_cancel(v_t);
    exception when others then
      -- Placed meanwhile: its handler finds the dag stopped and does nothing.
      null;
    end;
  end loop;
  perform pg_notify('tableos_dag', p_dag);
end;
$$;

-- Records a failed attempt: retried after the node's backoff (doubling, at most 60 s) while
-- attempts remain, else the node fails and, by its policy, the dag fails (pending nodes
-- cancelled) or goes on with the node marked failed (its children get null for its output).
create function tableos.dag_node_fail(
  p_dag text, p_node text, p_attempt integer, p_error text, p_retryable boolean
) returns text
language plpgsql as $$
declare
  v_n tableos.dag_node;
  v_d tableos.dag;
begin
  select * into v_n from tableos.dag_node n where n.dag_id = p_dag and n.id = p_node for update;
  if not found or v_n.status not in ('ready', 'running') or v_n.attempts <> p_attempt then
    return 'stale';
  end if;
  select * into v_d from tableos.dag d where d.id = p_dag for update;
  if v_d.status = 'running' and p_retryable and v_n.attempts < v_n.max_attempts then
    update tableos.dag_node n
       set status = 'ready', attempts = n.attempts + 1, error = p_error, ready_at = clock_timestamp(),
           worker_id = null, executor_id = null
     where n.dag_id = p_dag and n.id = p_node;
    perform tableos.dag_enqueue(v_d, array[p_node],
      clock_timestamp() + make_interval(secs => least(60, v_n.backoff_ms / 1000.0 * 2 ^ (v_n.attempts - 1))));
    return 'retry';
  end if;
  update tableos.dag_node n set status = 'failed', error = p_error, finished_at = clock_timestamp()
   where n.dag_id = p_dag and n.id = p_node;
  if v_d.status <> 'running' then
    return 'failed';
  end if;
  if v_n.on_failure = 'continue' then
    perform tableos.dag_release_children(v_d, p_node);
    perform tableos.dag_settle(p_dag);
  else
    perform tableos.dag_stop(p_dag, 'failed', format('node %s failed: %s', to_json(p_node), p_error));
  end if;
  return 'failed';
end;
$$;

create function tableos.dag_get(p_id text) returns tableos.dag
language plpgsql stable as $$
declare
  v tableos.dag;
begin
  select * into v from tableos.dag where id = p_id;
  if not found then
    perform tableos.raise_error('TABLEOS_DAG_NOT_FOUND', format('no dag with id %s', to_json(p_id)));
  end if;
  return v;
end;
$$;

-- Cancels (or times out) a running dag; a dag that has ended is returned as it is, so a
-- second cancel changes nothing.
create function tableos.dag_cancel(p_id text, p_status text default 'cancelled', p_reason text default 'cancelled')
returns tableos.dag
language plpgsql as $$
declare
  v tableos.dag;
begin
  select * into v from tableos.dag where id = p_id for update;
  if not found then
    perform tableos.raise_error('TABLEOS_DAG_NOT_FOUND', format('no dag with id %s', to_json(p_id)));
  end if;
  if v.status = 'running' then
    perform tableos.dag_stop(p_id, p_status, p_reason);
    select * into v from tableos.dag where id = p_id;
  end if;
  return v;
end;
$$;

-- How long a node with a locality key waits for a worker holding its data to have room
-- before it may run elsewhere. Replace this function to change it.
create function tableos.dag_locality_wait() returns interval
language sql immutable as $$ select interval '500 milliseconds' $$;

-- The dag queue's policy: a worker holding the task's shard; while one exists but has no
-- room, the task stays queued up to dag_locality_wait() past its run_at; then least loaded.
create function tableos.dag_policy_locality(p_task tableos.task, p_candidates tableos.worker[])
returns text language sql stable as $$
  select c.id from unnest(p_candidates) c
   where p_task.locality_key is null
      or p_task.locality_key = any (c.shards)
      or p_task.run_at + tableos.dag_locality_wait() <= clock_timestamp()
      or not exists (select 1 from tableos.worker w
                      where w.status = 'alive' and w.partition = c.partition
                        and p_task.locality_key = any (w.shards))
   order by coalesce(p_task.locality_key = any (c.shards), false) desc,
            c.running::float8 / c.capacity, c.seq
   limit 1
$$;

select tableos.sched_policy_add('dag_locality', 'tableos.dag_policy_locality',
  'a worker holding the task''s shard; elsewhere after tableos.dag_locality_wait()');

-- Finishes many nodes in one transaction (the group commit of procedure nodes): the dag rows
-- are locked first, in id order, so concurrent batches over the same dags never deadlock.
create function tableos.dag_node_finish_many(
  p_dags text[], p_nodes text[], p_attempts integer[], p_outputs jsonb[], p_spawns jsonb[], p_fan_ins jsonb[]
) returns text[]
language plpgsql as $$
declare
  v_out text[] := '{}';
  v_i integer;
begin
  perform 1 from tableos.dag d where d.id = any (p_dags) order by d.id for update;
  for v_i in 1 .. coalesce(cardinality(p_nodes), 0) loop
    v_out := v_out || tableos.dag_node_finish(p_dags[v_i], p_nodes[v_i], p_attempts[v_i],
                                              p_outputs[v_i], p_spawns[v_i], p_fan_ins[v_i]);
  end loop;
  return v_out;
end;
$$;
