-- 0082_sched_enqueue_batch: sched_enqueue in time linear in the batch. Each row's task id is
-- taken before the insert, so the tasks made are matched to their positions by id (numbering
-- both sides and joining on the numbers was planned, for a batch without keys, as a nested
-- loop over every pair). The lookup of tasks a batch did not make (found by idempotency or
-- dedup key) reads each row's queue and keys from arrays unnested beside its position, where
-- subscripting the text arrays by position walked them from the start for every row; and it
-- runs only for such rows. Task kinds are checked
-- once per distinct kind, without a bounded repetition (costly in the regex engine).

create or replace function tableos.sched_enqueue(
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
  v_queue text[];
  v_key text[];
  v_dedup text[];
begin
  select string_agg(coalesce(quote_literal(x), 'NULL'), ', ' order by x) into v_bad
    from (select distinct x from unnest(p_queue) x) u
   where x is null or not exists (select 1 from tableos.queue q where q.name = x);
  if v_bad is not null then
    perform tableos.sched_fail('TABLEOS_SCHED_UNKNOWN_QUEUE',
      format('unknown queue %s; create it first (tableos queue create NAME)', v_bad));
  end if;
  select string_agg(coalesce(quote_literal(x), 'NULL'), ', ' order by x) into v_bad
    from (select distinct x from unnest(p_kind) x) u
   where x is null or x !~ '^[A-Za-z0-9._:/-]+$' or length(x) > 128;
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

  -- Each row takes its task id first, in batch order (so ids keep the enqueue order), and the
  -- insert skips rows whose key, or live dedup key, is taken (a later row with a key an
  -- earlier one in the batch used, too): those are found below. Matching the inserted rows
  -- to their positions by id needs no join whose size the planner could misjudge.
  with input as materialized (
    select i.*, nextval('tableos.task_id_seq') as new_id
      from unnest(p_queue, p_kind, p_payload, p_priority, p_run_at, p_memory_mb, p_locality,
                  p_partition_key, p_dedup, p_max_attempts, p_keys)
           with ordinality as i(queue, kind, payload, priority, run_at, memory_mb, locality,
                                partition_key, dedup, max_attempts, key, ord)
  ), ins as (
    insert into tableos.task as t (id, queue, kind, payload, priority, run_at, memory_mb, locality_key,
                                   partition_key, dedup_key, max_attempts, idempotency_key)
    overriding system value
    select i.new_id, i.queue, i.kind, i.payload, coalesce(i.priority, 0), coalesce(i.run_at, now()),
           coalesce(i.memory_mb, 0), i.locality, i.partition_key, i.dedup, coalesce(i.max_attempts, 1), i.key
      from input i order by i.ord
    on conflict do nothing
    returning t.id
  )
  select array_agg(i.ord::integer order by i.ord), array_agg(n.id order by i.ord),
         array_agg(i.queue order by i.ord) filter (where n.id is null),
         array_agg(i.key order by i.ord) filter (where n.id is null),
         array_agg(i.dedup order by i.ord) filter (where n.id is null)
    into v_ord, v_id, v_queue, v_key, v_dedup
    from input i left join ins n on n.id = i.new_id;

  if v_queue is null then
    -- Every row made its task.
    return query select x.ord, x.id, false, false from unnest(v_ord, v_id) x(ord, id);
  else
    -- A later statement sees what concurrent callers committed meanwhile.
    return query
      select x.ord, x.id, false, false from unnest(v_ord, v_id) x(ord, id) where x.id is not null
      union all
      select x.ord, coalesce(k.id, d.id, f.id), true, k.id is not null
        from unnest(array(select o from unnest(v_ord, v_id) m(o, i) where m.i is null order by o),
                    v_queue, v_key, v_dedup) x(ord, queue, key, dedup)
        left join lateral (
          select t.id from tableos.task t
           where t.queue = x.queue and t.idempotency_key = x.key
        ) k on true
        left join lateral (
          select t.id from tableos.task t
           where k.id is null and t.queue = x.queue and t.dedup_key = x.dedup
             and t.state in ('queued', 'assigned', 'running')
        ) d on true
        -- The live task it met may have finished since: then that task is the answer.
        left join lateral (
          select t.id from tableos.task t
           where k.id is null and d.id is null and t.queue = x.queue and t.dedup_key = x.dedup
           order by t.id desc limit 1
        ) f on true
      order by 1;
  end if;

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
