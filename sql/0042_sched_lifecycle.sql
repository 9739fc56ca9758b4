-- 0042_sched_lifecycle: enqueue, take, complete, worker registration and release, reclaim
-- of dead executors' slots. Each is one call; each that changes placement state takes the
-- partition locks first, in ascending order.

-- Enqueues a batch (parallel arrays, one element per task) and places what is ready.
-- Returns, per input position, the task id and whether a live task with the same dedup key
-- already existed (then no new task was made).
create function tableos.sched_enqueue(
  p_queue text[], p_kind text[], p_payload jsonb[], p_priority integer[], p_run_at timestamptz[],
  p_memory_mb integer[], p_locality text[], p_partition_key text[], p_dedup text[], p_max_attempts integer[]
) returns table (ord integer, id bigint, existed boolean)
language plpgsql as $$
declare
  v_bad text;
  v_parts integer[];
  v_p integer;
begin
  select string_agg(distinct coalesce(quote_literal(x), 'NULL'), ', ') into v_bad
    from unnest(p_queue) x where not exists (select 1 from tableos.queue q where q.name = x);
  if v_bad is not null then
    perform tableos.sched_fail('TABLEOS_SCHED_UNKNOWN_QUEUE',
      format('unknown queue %s; create it first (tableos queue create NAME)', v_bad));
  end if;
  select string_agg(distinct coalesce(quote_literal(x), 'NULL'), ', ') into v_bad
    from unnest(p_kind) x where x is null or x !~ '^[A-Za-z0-9._:/-]{1,128}$';
  if v_bad is not null then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('invalid task kind %s: use 1-128 letters, digits, . _ : / -', v_bad));
  end if;
  if exists (select 1 from unnest(p_memory_mb) m where m < 0) then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID', 'memory must be zero or more megabytes');
  end if;
  if exists (select 1 from unnest(p_max_attempts) m where m < 1) then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID', 'maxAttempts must be at least 1');
  end if;

  return query
  with input as (
    select * from unnest(p_queue, p_kind, p_payload, p_priority, p_run_at, p_memory_mb, p_locality,
                         p_partition_key, p_dedup, p_max_attempts)
           with ordinality as i(queue, kind, payload, priority, run_at, memory_mb, locality,
                                partition_key, dedup, max_attempts, ord)
  ), ins as (
    insert into tableos.task as t (queue, kind, payload, priority, run_at, memory_mb, locality_key,
                                   partition_key, dedup_key, max_attempts)
    select i.queue, i.kind, i.payload, coalesce(i.priority, 0), coalesce(i.run_at, now()),
           coalesce(i.memory_mb, 0), i.locality, i.partition_key, i.dedup, coalesce(i.max_attempts, 1)
      from input i order by i.ord
    on conflict (queue, dedup_key) where dedup_key is not null and state in ('queued', 'assigned', 'running')
    do nothing
    returning t.id, t.queue, t.dedup_key
  ), plain_in as (
    select i.ord, row_number() over (order by i.ord) rn from input i where i.dedup is null
  ), plain_ins as (
    select ins.id, row_number() over (order by ins.id) rn from ins where ins.dedup_key is null
  )
  select a.ord::integer, b.id, false from plain_in a join plain_ins b using (rn)
  union all
  select i.ord::integer, coalesce(n.id, e.id), n.id is null
    from input i
    left join ins n on n.queue = i.queue and n.dedup_key = i.dedup
    left join lateral (
      select t.id from tableos.task t
       where t.queue = i.queue and t.dedup_key = i.dedup and t.state in ('queued', 'assigned', 'running')
    ) e on n.id is null
   where i.dedup is not null;

  -- Executors set a timer for the earliest delayed task instead of polling for it.
  perform pg_notify('tableos_sched', '@' || (extract(epoch from min(x)) * 1000)::bigint)
     from unnest(p_run_at) x having min(x) > clock_timestamp();
  v_parts := array(
    select distinct q.partition from tableos.queue q
     where q.name = any (p_queue) and not q.paused order by 1);
  if cardinality(v_parts) > 0 then
    perform tableos.sched_lock(v_parts);
    foreach v_p in array v_parts loop
      perform tableos.sched_dispatch(v_p, null);
    end loop;
  end if;
end;
$$;

-- Starts the tasks other dispatchers assigned to this executor and, with p_dispatch, places
-- ready tasks in the partitions where it has room. One call on every wake-up.
create function tableos.sched_next(p_executor text, p_dispatch boolean)
returns setof tableos.task
language plpgsql as $$
declare
  v_parts integer[];
  v_p integer;
begin
  return query
    update tableos.task t set state = 'running'
     where t.executor_id = p_executor and t.state = 'assigned'
    returning t.*;
  if not p_dispatch then
    return;
  end if;
  v_parts := array(
    select distinct w.partition from tableos.worker w
     where w.executor_id = p_executor and w.status = 'alive' and w.running < w.capacity order by 1);
  if cardinality(v_parts) > 0 then
    perform tableos.sched_lock(v_parts);
    foreach v_p in array v_parts loop
      return query select * from tableos.sched_dispatch(v_p, p_executor);
    end loop;
  end if;
end;
$$;

-- Frees the slots and memory of tasks that left a worker, and the queues' running counts.
-- Caller holds the partition locks.
create function tableos.sched_release_slots(p_ids bigint[]) returns void
language plpgsql as $$
begin
  with old as (
    select t.queue, t.worker_id, t.memory_mb from tableos.task t where t.id = any (p_ids)
  ), w as (
    update tableos.worker w set running = w.running - o.n, mem_free_mb = w.mem_free_mb + o.m
      from (select worker_id, count(*) n, sum(memory_mb) m from old group by 1) o
     where w.id = o.worker_id
  )
  update tableos.queue q set running = q.running - o.n
    from (select queue, count(*) n from old group by 1) o
   where q.name = o.queue;
end;
$$;

-- Records the outcome of tasks this executor ran (p_errors[i] null = success), retries failed
-- ones that have attempts left, wakes result waiters, and places more work, returning what
-- was placed on this executor. Outcomes of tasks no longer running here are ignored.
create function tableos.sched_complete(
  p_executor text, p_ids bigint[], p_errors text[], p_results jsonb[]
) returns setof tableos.task
language plpgsql as $$
declare
  v_parts integer[];
  v_p integer;
  v_mine bigint[];
  v_done bigint[];
  v_retry_at timestamptz;
begin
  v_parts := array(
    select distinct w.partition from tableos.task t join tableos.worker w on w.id = t.worker_id
     where t.id = any (p_ids) order by 1);
  perform tableos.sched_lock(v_parts);
  v_mine := array(
    select t.id from tableos.task t
     where t.id = any (p_ids) and t.state in ('assigned', 'running') and t.executor_id = p_executor
     for update);
  if cardinality(v_mine) > 0 then
    perform tableos.sched_release_slots(v_mine);
    with x as (
      select * from unnest(p_ids, p_errors, p_results) x(id, err, res) where x.id = any (v_mine)
    ), upd as (
      update tableos.task t
         set state = case when x.err is null then 'done'
                          when t.attempts < t.max_attempts then 'queued' else 'failed' end,
             result = x.res,
             error = x.err,
             finished_at = case when x.err is null or t.attempts >= t.max_attempts then clock_timestamp() end,
             run_at = case when x.err is not null and t.attempts < t.max_attempts
                           then clock_timestamp() + make_interval(secs => least(60, 0.5 * 2 ^ (t.attempts - 1)))
                           else t.run_at end,
             worker_id = case when x.err is not null and t.attempts < t.max_attempts then null else t.worker_id end,
             executor_id = case when x.err is not null and t.attempts < t.max_attempts then null else t.executor_id end
        from x where t.id = x.id
      returning t.id, t.state, t.run_at
    )
    select array_agg(upd.id) filter (where upd.state in ('done', 'failed')),
           min(upd.run_at) filter (where upd.state = 'queued')
      into v_done, v_retry_at from upd;
    if v_retry_at is not null then
      perform pg_notify('tableos_sched', '@' || (extract(epoch from v_retry_at) * 1000)::bigint);
    end if;
    if v_done is not null then
      perform pg_notify('tableos_task_done', string_agg(d::text, ','))
         from unnest(v_done) with ordinality u(d, o) group by (o - 1) / 500;
    end if;
  end if;
  foreach v_p in array v_parts loop
    return query select * from tableos.sched_dispatch(v_p, p_executor);
  end loop;
end;
$$;

-- Puts the assigned and running tasks of the given executors back in their queues and
-- frees their workers, which end with p_status. Caller holds the partition locks.
create function tableos.sched_requeue(p_executors text[], p_status text) returns integer
language plpgsql as $$
declare
  v_ids bigint[];
begin
  v_ids := array(
    select t.id from tableos.task t
     where t.executor_id = any (p_executors) and t.state in ('assigned', 'running')
     for update);
  perform tableos.sched_release_slots(v_ids);
  update tableos.task t
     set state = 'queued', worker_id = null, executor_id = null, started_at = null
   where t.id = any (v_ids);
  update tableos.worker w
     set status = p_status, ended_at = clock_timestamp(), running = 0, mem_free_mb = mem_total_mb
   where w.executor_id = any (p_executors) and w.status = 'alive';
  return cardinality(v_ids);
end;
$$;

create function tableos.sched_worker_register(
  p_executor text, p_partition integer, p_capacity integer, p_memory_mb integer,
  p_shards text[], p_kinds text[]
) returns setof tableos.task
language plpgsql as $$
begin
  if p_capacity is null or p_capacity <= 0 then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('worker capacity must be a positive number of slots, got %s', coalesce(p_capacity::text, 'NULL')));
  end if;
  if p_partition is null or p_partition < 0 then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('partition must be zero or more, got %s', coalesce(p_partition::text, 'NULL')));
  end if;
  if p_memory_mb < 0 then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID', format('worker memory must be zero or more megabytes, got %s', p_memory_mb));
  end if;
  if not exists (select 1 from tableos.executor e where e.id = p_executor and e.status = 'alive') then
    perform tableos.sched_fail('TABLEOS_SCHED_EXECUTOR_NOT_ALIVE',
      format('executor %s is not alive; only a live executor can register workers', coalesce(quote_literal(p_executor), 'NULL')));
  end if;
  perform tableos.sched_lock(array[p_partition]);
  insert into tableos.worker (id, executor_id, partition, capacity, mem_total_mb, mem_free_mb, shards, kinds)
  values (p_executor || '/' || p_partition, p_executor, p_partition, p_capacity, p_memory_mb, p_memory_mb,
          coalesce(p_shards, '{}'), p_kinds)
  on conflict (id) do update
     set capacity = excluded.capacity,
         mem_free_mb = excluded.mem_total_mb - (worker.mem_total_mb - worker.mem_free_mb),
         mem_total_mb = excluded.mem_total_mb,
         shards = excluded.shards,
         kinds = excluded.kinds,
         status = 'alive',
         ended_at = null;
  return query select * from tableos.sched_dispatch(p_partition, p_executor);
end;
$$;

create function tableos.sched_worker_kinds(p_executor text, p_kinds text[]) returns void
language sql as $$
  update tableos.worker set kinds = p_kinds where executor_id = p_executor and status = 'alive';
$$;

-- At stop: unfinished tasks go back to their queues and the slots are released.
create function tableos.sched_worker_release(p_executor text) returns integer
language plpgsql as $$
declare
  v_parts integer[];
  v_n integer;
  v_p integer;
begin
  v_parts := array(select distinct partition from tableos.worker where executor_id = p_executor order by 1);
  perform tableos.sched_lock(v_parts);
  v_n := tableos.sched_requeue(array[p_executor], 'stopped');
  foreach v_p in array v_parts loop
    perform tableos.sched_dispatch(v_p, null);
  end loop;
  return v_n;
end;
$$;

-- Reclaims the workers of executors that are no longer alive: their tasks are re-queued and
-- placed elsewhere. Safe to call from any number of executors at once; returns tasks re-queued.
create function tableos.sched_reclaim() returns integer
language plpgsql as $$
declare
  v_parts integer[];
  v_execs text[];
  v_n integer;
  v_p integer;
begin
  perform tableos.executor_reap();
  v_parts := array(
    select distinct w.partition from tableos.worker w
      left join tableos.executor e on e.id = w.executor_id
     where w.status = 'alive' and (e.id is null or e.status <> 'alive') order by 1);
  if cardinality(v_parts) = 0 then
    return 0;
  end if;
  perform tableos.sched_lock(v_parts);
  -- Decided again under the locks: another executor may have reclaimed them meanwhile.
  v_execs := array(
    select distinct w.executor_id from tableos.worker w
      left join tableos.executor e on e.id = w.executor_id
     where w.status = 'alive' and (e.id is null or e.status <> 'alive'));
  v_n := tableos.sched_requeue(v_execs, 'dead');
  foreach v_p in array v_parts loop
    perform tableos.sched_dispatch(v_p, null);
  end loop;
  return v_n;
end;
$$;

-- The slow-poll fallback: reclaim dead executors' slots, then what sched_next does. One call.
create function tableos.sched_poll(p_executor text) returns setof tableos.task
language plpgsql as $$
begin
  perform tableos.sched_reclaim();
  return query select * from tableos.sched_next(p_executor, true);
end;
$$;
