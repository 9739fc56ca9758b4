-- 0060_sched_reconnect: every scheduler statement safe to run twice, for retries after a lost
-- connection whose first attempt may have committed.
--   * Enqueue: each task carries an idempotency key (the caller's, or one the client makes),
--     unique per queue, so a second run of the same batch returns the tasks the first made.
--   * Claims: the statements that start tasks on an executor (sched_next, sched_poll,
--     sched_complete, sched_worker_register) stamp those tasks with the caller's claim number;
--     run again with p_retry, they return what that claim took before as well, so no task is
--     left running here unknown to the process.
--   * Completion: an outcome names the attempt it is for, so a second run neither counts it
--     twice nor applies it to a later attempt of the same task.

alter table tableos.task add column idempotency_key text, add column claim bigint;

create unique index task_idempotency_idx on tableos.task (queue, idempotency_key)
  where idempotency_key is not null;

comment on column tableos.task.idempotency_key is
  'Names one task in its queue for good: enqueuing the same key again returns that task.';
comment on column tableos.task.claim is
  'The executor''s number for the statement that started the task there, so a retry of that statement finds it.';

drop function tableos.sched_dispatch(integer, text);
drop function tableos.sched_enqueue(text[], text[], jsonb[], integer[], timestamptz[], integer[], text[], text[], text[], integer[]);
drop function tableos.sched_poll(text);
drop function tableos.sched_next(text, boolean);
drop function tableos.sched_complete(text, bigint[], text[], jsonb[]);
drop function tableos.sched_worker_register(text, integer, integer, integer, text[], text[]);

create function tableos.sched_dispatch(p_partition integer, p_executor text, p_claim bigint default null)
returns setof tableos.task
language plpgsql as $$
declare
  v_workers tableos.worker[];
  v_ids text[];
  v_free integer;
  v_q tableos.queue;
  v_allow integer;
  v_sql text;
  v_exec jsonb;
  v_t tableos.task;
  v_cands tableos.worker[];
  v_wid text;
  v_i integer;
  v_pick bigint[];
  v_single boolean;
  v_task_ids bigint[] := '{}';
  v_task_workers text[] := '{}';
  v_task_execs text[] := '{}';
  v_n integer;
  v_now timestamptz := clock_timestamp();
begin
  select array_agg(w order by w.seq), coalesce(sum(w.capacity - w.running), 0)
    into v_workers, v_free
    from tableos.worker w
   where w.partition = p_partition and w.status = 'alive'
     -- Not on an executor already known dead; its slots await reclaim.
     and exists (select 1 from tableos.executor e where e.id = w.executor_id and e.status = 'alive');
  if v_free <= 0 then
    return;
  end if;
  v_ids := array(select (w).id from unnest(v_workers) w);
  v_single := cardinality(v_workers) = 1;

  for v_q in
    select q.* from tableos.queue q
     where q.partition = p_partition and not q.paused
       and exists (select 1 from tableos.task t where t.queue = q.name and t.state = 'queued' and t.run_at <= v_now)
     order by q.name
  loop
    exit when v_free <= 0;
    v_allow := v_free;
    if v_q.concurrency is not null then
      v_allow := least(v_allow, v_q.concurrency - v_q.running);
    end if;
    if v_q.rate_limit is not null then
      if v_q.rate_window_start + make_interval(secs => v_q.rate_period_ms / 1000.0) <= v_now then
        v_q.rate_window_start := v_now;
        v_q.rate_count := 0;
      end if;
      v_allow := least(v_allow, v_q.rate_limit - v_q.rate_count);
      if v_allow <= 0 then
        -- Wake executors when the window opens rather than at the next poll.
        perform pg_notify('tableos_sched', '@' || (extract(epoch from
          v_q.rate_window_start + make_interval(secs => v_q.rate_period_ms / 1000.0)) * 1000)::bigint);
      end if;
    end if;
    continue when v_allow <= 0;

    v_exec := '{}';
    if v_q.per_executor is not null then
      select coalesce(jsonb_object_agg(executor_id, n), '{}') into v_exec
        from (select executor_id, count(*) n from tableos.task
               where queue = v_q.name and state in ('assigned', 'running') group by 1) x;
    end if;
    select format('select %s($1, $2)', p.fn) into v_sql from tableos.sched_policy p where p.name = v_q.policy;

    -- Ready tasks in order, with a lookahead of 64 past the allowance so that tasks that fit
    -- nowhere (memory, kind) do not hold back the ones behind them. With a per-key limit, round-robin across keys, each key up to its
    -- remaining allowance, so a tenant with a deep backlog cannot hold the queue.
    if v_q.per_key is null then
      v_pick := array(
        select t.id from tableos.task t
         where t.queue = v_q.name and t.state = 'queued' and t.run_at <= v_now
         order by t.priority desc, t.id
         limit v_allow + 64
         for update skip locked);
    else
      v_pick := array(
        with running as (
          select coalesce(partition_key, '') k, count(*) n from tableos.task
           where queue = v_q.name and state in ('assigned', 'running') group by 1
        ), keys as (
          select distinct coalesce(partition_key, '') k from tableos.task
           where queue = v_q.name and state = 'queued' and run_at <= v_now
        ), picked as (
          select c.id, c.priority,
                 row_number() over (partition by keys.k order by c.priority desc, c.id) rn
            from keys
            left join running r on r.k = keys.k
            cross join lateral (
              select t.id, t.priority from tableos.task t
               where t.queue = v_q.name and t.state = 'queued' and t.run_at <= v_now
                 and coalesce(t.partition_key, '') = keys.k
               order by t.priority desc, t.id
               limit greatest(0, v_q.per_key - coalesce(r.n, 0))
               for update skip locked
            ) c
        )
        select id from picked order by rn, priority desc, id limit v_allow + 64);
    end if;

    v_n := 0;
    for v_t in
      select t.* from unnest(v_pick) with ordinality p(id, o)
        join tableos.task t on t.id = p.id
       order by p.o
    loop
      if v_single and v_q.policy in ('fifo', 'least_loaded', 'locality') then
        -- One worker: every built-in policy picks it when it qualifies, so skip the call.
        continue when not (v_workers[1].running < v_workers[1].capacity
          and (v_workers[1].mem_free_mb is null or v_workers[1].mem_free_mb >= v_t.memory_mb)
          and (v_workers[1].kinds is null or v_t.kind = any (v_workers[1].kinds))
          and (v_q.per_executor is null
               or coalesce((v_exec ->> v_workers[1].executor_id)::integer, 0) < v_q.per_executor));
        v_wid := v_workers[1].id;
      else
        select array_agg(w order by w.seq) into v_cands
          from unnest(v_workers) w
         where w.running < w.capacity
           and (w.mem_free_mb is null or w.mem_free_mb >= v_t.memory_mb)
           and (w.kinds is null or v_t.kind = any (w.kinds))
           and (v_q.per_executor is null or coalesce((v_exec ->> w.executor_id)::integer, 0) < v_q.per_executor);
        continue when v_cands is null;
        -- Built-in policies are called statically (plan cached); others through EXECUTE.
        case v_q.policy
          when 'fifo' then v_wid := tableos.sched_policy_fifo(v_t, v_cands);
          when 'least_loaded' then v_wid := tableos.sched_policy_least_loaded(v_t, v_cands);
          when 'locality' then v_wid := tableos.sched_policy_locality(v_t, v_cands);
          else execute v_sql into v_wid using v_t, v_cands;
        end case;
        continue when v_wid is null;
      end if;
      v_i := array_position(v_ids, v_wid);
      if v_i is null or v_workers[v_i].running >= v_workers[v_i].capacity
         or v_workers[v_i].mem_free_mb < v_t.memory_mb then
        perform tableos.raise_error('TABLEOS_SCHED_BAD_POLICY_CHOICE',
          format('policy %s chose worker %s which is not a candidate for task %s; a policy must return one of the candidates it was given, or null',
                 v_q.policy, coalesce(v_wid::text, 'NULL'), v_t.id));
      end if;
      v_workers[v_i].running := v_workers[v_i].running + 1;
      v_workers[v_i].mem_free_mb := v_workers[v_i].mem_free_mb - v_t.memory_mb;
      if v_q.per_executor is not null then
        v_exec := jsonb_set(v_exec, array[v_workers[v_i].executor_id],
          to_jsonb(coalesce((v_exec ->> v_workers[v_i].executor_id)::integer, 0) + 1));
      end if;
      v_task_ids := v_task_ids || v_t.id;
      v_task_workers := v_task_workers || v_wid;
      v_task_execs := v_task_execs || v_workers[v_i].executor_id;
      v_free := v_free - 1;
      v_n := v_n + 1;
      exit when v_free <= 0 or v_n >= v_allow;
    end loop;

    if v_n > 0 then
      update tableos.queue
         set running = running + v_n,
             rate_window_start = v_q.rate_window_start,
             rate_count = v_q.rate_count + v_n
       where name = v_q.name;
    end if;
  end loop;

  if cardinality(v_task_ids) = 0 then
    return;
  end if;

  update tableos.worker w
     set running = x.running, mem_free_mb = x.mem_free_mb
    from unnest(v_workers) x
   where w.id = x.id and (w.running, w.mem_free_mb) is distinct from (x.running, x.mem_free_mb);

  perform pg_notify('tableos_sched', e)
     from (select distinct e from unnest(v_task_execs) e
            where p_executor is null or e <> p_executor) x;

  return query
    with u as (
      update tableos.task t
         set state = case when a.e = p_executor then 'running' else 'assigned' end,
             worker_id = a.w,
             executor_id = a.e,
             claim = case when a.e = p_executor then p_claim end,
             attempts = t.attempts + 1,
             started_at = v_now
        from unnest(v_task_ids, v_task_workers, v_task_execs) a(id, w, e)
       where t.id = a.id
      returning t.*
    )
    select * from u where u.state = 'running';
end;
$$;

-- The partitions an executor has workers in: what a retried claim locks before it looks.
create function tableos.sched_executor_partitions(p_executor text) returns integer[]
language sql stable as $$
  select coalesce(array_agg(distinct w.partition order by w.partition), '{}')
    from tableos.worker w where w.executor_id = p_executor
$$;

-- The tasks a claim started on this executor and that are still running there. The caller
-- holds the locks of the executor's partitions, so an earlier attempt still in flight has
-- committed or rolled back by now.
create function tableos.sched_claimed(p_executor text, p_claim bigint) returns setof tableos.task
language sql stable as $$
  select * from tableos.task t
   where t.executor_id = p_executor and t.state = 'running' and t.claim = p_claim
   order by t.id
$$;

-- Enqueues a batch (parallel arrays, one element per task) and places what is ready.
-- Returns, per input position, the task id, whether the task existed before this call (then
-- no new task was made), and whether it was found by its idempotency key (p_keys; else by a
-- live task's dedup key).
create function tableos.sched_enqueue(
  p_queue text[], p_kind text[], p_payload jsonb[], p_priority integer[], p_run_at timestamptz[],
  p_memory_mb integer[], p_locality text[], p_partition_key text[], p_dedup text[], p_max_attempts integer[],
  p_keys text[] default null
) returns table (ord integer, id bigint, existed boolean, by_key boolean)
language plpgsql as $$
declare
  v_bad text;
  v_parts integer[];
  v_p integer;
  v_ord integer[];
  v_id bigint[];
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
  if p_keys is not null and cardinality(p_keys) <> cardinality(p_queue) then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID', 'give one idempotency key (or null) per task');
  end if;

  -- Rows whose key, or live dedup key, is taken are skipped here and found below.
  with input as (
    select * from unnest(p_queue, p_kind, p_payload, p_priority, p_run_at, p_memory_mb, p_locality,
                         p_partition_key, p_dedup, p_max_attempts, p_keys)
           with ordinality as i(queue, kind, payload, priority, run_at, memory_mb, locality,
                                partition_key, dedup, max_attempts, key, ord)
  ), ins as (
    insert into tableos.task as t (queue, kind, payload, priority, run_at, memory_mb, locality_key,
                                   partition_key, dedup_key, max_attempts, idempotency_key)
    select i.queue, i.kind, i.payload, coalesce(i.priority, 0), coalesce(i.run_at, now()),
           coalesce(i.memory_mb, 0), i.locality, i.partition_key, i.dedup, coalesce(i.max_attempts, 1), i.key
      from input i order by i.ord
    on conflict do nothing
    returning t.id, t.queue, t.dedup_key, t.idempotency_key
  ), plain_in as (
    select i.ord, row_number() over (order by i.ord) rn from input i where i.dedup is null and i.key is null
  ), plain_ins as (
    select ins.id, row_number() over (order by ins.id) rn
      from ins where ins.dedup_key is null and ins.idempotency_key is null
  ), made as (
    select a.ord, b.id from plain_in a left join plain_ins b using (rn)
    union all
    -- The first row with a key made the task; a later one in the same batch finds it below.
    select k.ord, case when k.first then n.id end
      from (select i.ord, i.queue, i.key,
                   row_number() over (partition by i.queue, i.key order by i.ord) = 1 first
              from input i where i.key is not null) k
      left join ins n on n.queue = k.queue and n.idempotency_key = k.key
    union all
    select i.ord, n.id
      from input i
      left join ins n on n.queue = i.queue and n.dedup_key = i.dedup and n.idempotency_key is null
     where i.key is null and i.dedup is not null
  )
  select array_agg(m.ord::integer order by m.ord), array_agg(m.id order by m.ord) into v_ord, v_id from made m;

  -- A later statement sees what concurrent callers committed meanwhile.
  return query
    select x.ord, coalesce(x.id, k.id, d.id, f.id), x.id is null, x.id is null and k.id is not null
      from unnest(v_ord, v_id) x(ord, id)
      left join lateral (
        select t.id from tableos.task t
         where x.id is null and t.queue = p_queue[x.ord] and t.idempotency_key = p_keys[x.ord]
      ) k on true
      left join lateral (
        select t.id from tableos.task t
         where x.id is null and k.id is null and t.queue = p_queue[x.ord] and t.dedup_key = p_dedup[x.ord]
           and t.state in ('queued', 'assigned', 'running')
      ) d on true
      -- The live task it met may have finished since: then that task is the answer.
      left join lateral (
        select t.id from tableos.task t
         where x.id is null and k.id is null and d.id is null
           and t.queue = p_queue[x.ord] and t.dedup_key = p_dedup[x.ord]
         order by t.id desc limit 1
      ) f on true
     order by x.ord;

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
-- ready tasks in the partitions where it has room; what starts here is stamped with p_claim.
-- With p_retry (the same claim sent again after a lost reply) it also returns what that
-- claim started before.
create function tableos.sched_next(
  p_executor text, p_dispatch boolean, p_claim bigint default null, p_retry boolean default false
) returns setof tableos.task
language plpgsql as $$
declare
  v_parts integer[];
  v_p integer;
begin
  if p_retry then
    perform tableos.sched_lock(tableos.sched_executor_partitions(p_executor));
    update tableos.task t set state = 'running', claim = p_claim
     where t.executor_id = p_executor and t.state = 'assigned';
    return query select * from tableos.sched_claimed(p_executor, p_claim);
  else
    return query
      update tableos.task t set state = 'running', claim = p_claim
       where t.executor_id = p_executor and t.state = 'assigned'
      returning t.*;
  end if;
  if not p_dispatch then
    return;
  end if;
  v_parts := array(
    select distinct w.partition from tableos.worker w
     where w.executor_id = p_executor and w.status = 'alive' and w.running < w.capacity order by 1);
  if cardinality(v_parts) > 0 then
    perform tableos.sched_lock(v_parts);
    foreach v_p in array v_parts loop
      return query select * from tableos.sched_dispatch(v_p, p_executor, p_claim);
    end loop;
  end if;
end;
$$;

-- The slow-poll fallback: reclaim dead executors' slots, then what sched_next does. One call.
create function tableos.sched_poll(
  p_executor text, p_claim bigint default null, p_retry boolean default false
) returns setof tableos.task
language plpgsql as $$
begin
  perform tableos.sched_reclaim();
  return query select * from tableos.sched_next(p_executor, true, p_claim, p_retry);
end;
$$;

-- Records the outcome of tasks this executor ran (p_errors[i] null = success) for the attempt
-- p_attempts[i] (null: whichever is running), retries failed ones that have attempts left,
-- wakes result waiters, and places more work, returning what was placed on this executor
-- (stamped with p_claim). Outcomes of tasks no longer running here in that attempt are
-- ignored, so a second run changes nothing; with p_retry it returns what the claim placed.
create function tableos.sched_complete(
  p_executor text, p_ids bigint[], p_errors text[], p_results jsonb[],
  p_attempts integer[] default null, p_claim bigint default null, p_retry boolean default false
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
  if p_retry then
    perform tableos.sched_lock(array(
      select distinct x from unnest(v_parts || tableos.sched_executor_partitions(p_executor)) x order by 1));
    return query select * from tableos.sched_claimed(p_executor, p_claim);
  else
    perform tableos.sched_lock(v_parts);
  end if;
  v_mine := array(
    select t.id from tableos.task t
      join unnest(p_ids, p_attempts) a(id, attempts) on a.id = t.id
     where t.state in ('assigned', 'running') and t.executor_id = p_executor
       and (a.attempts is null or a.attempts = t.attempts)
     for update of t);
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
    return query select * from tableos.sched_dispatch(v_p, p_executor, p_claim);
  end loop;
end;
$$;

-- Registers (or renews) this executor's slots in a partition and places ready work on them,
-- stamped with p_claim; with p_retry, also returns what the claim placed before.
create function tableos.sched_worker_register(
  p_executor text, p_partition integer, p_capacity integer, p_memory_mb integer,
  p_shards text[], p_kinds text[], p_claim bigint default null, p_retry boolean default false
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
  if p_retry then
    return query select * from tableos.sched_claimed(p_executor, p_claim);
  end if;
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
  return query select * from tableos.sched_dispatch(p_partition, p_executor, p_claim);
end;
$$;

-- Cancels a task that has not started; a running task is left to finish. Cancelling a
-- cancelled task again returns it unchanged, so a retried cancel does not fail.
create or replace function tableos.sched_cancel(p_id bigint) returns tableos.task
language plpgsql as $$
declare
  v_t tableos.task := tableos.sched_task_get(p_id);
begin
  if v_t.state = 'cancelled' then
    return v_t;
  end if;
  if v_t.state <> 'queued' then
    perform tableos.sched_fail('TABLEOS_SCHED_BUSY',
      format('task %s is %s; only a queued task can be cancelled', p_id, v_t.state));
  end if;
  update tableos.task set state = 'cancelled', finished_at = clock_timestamp(), error = 'cancelled'
   where id = p_id and state = 'queued' returning * into v_t;
  if not found then
    -- Started or cancelled since it was read: report what it is now.
    return tableos.sched_cancel(p_id);
  end if;
  perform pg_notify('tableos_task_done', p_id::text);
  return v_t;
end;
$$;
