-- 0083_sched_dispatch_ready: placement finds the queues with a ready task by one probe of
-- the ready index per queue. As an EXISTS, on a task table not yet analyzed (a new node under
-- load), it was planned as a semi-join that read every queued task of the partition first, so
-- each placement took time in the depth of the backlog (12-18 ms at 17,000 queued).

create or replace function tableos.sched_dispatch(p_partition integer, p_executor text, p_claim bigint default null)
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

  -- Queues with a ready task: one probe of the ready index per queue (a lateral with a limit
  -- in the index's order, so neither a join over the whole backlog nor a scan of the table,
  -- whatever the statistics say).
  for v_q in
    select q.* from tableos.queue q
     cross join lateral (
       select 1 from tableos.task t
        where t.queue = q.name and t.state = 'queued' and t.run_at <= v_now
        order by t.priority desc, t.id
        limit 1
     ) ready
     where q.partition = p_partition and not q.paused
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
