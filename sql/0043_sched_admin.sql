-- 0043_sched_admin: queues (declare, pause, swap policy) and cron schedules.

create function tableos.sched_check_limit(p_what text, p_value integer) returns void
language plpgsql as $$
begin
  if p_value is not null and p_value <= 0 then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('%s must be a positive integer (or unset for no limit), got %s', p_what, p_value));
  end if;
end;
$$;

-- Creates a queue or changes its settings. Null policy/partition keep the current ones
-- (fifo and 0 for a new queue); null limits mean no limit.
create function tableos.sched_queue_upsert(
  p_name text, p_policy text, p_partition integer, p_concurrency integer, p_per_executor integer,
  p_per_key integer, p_rate_limit integer, p_rate_period_ms integer
) returns tableos.queue
language plpgsql as $$
declare
  v_old tableos.queue;
  v_row tableos.queue;
  v_part integer;
begin
  if p_name is null or p_name !~ '^[A-Za-z0-9._:-]{1,128}$' then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('invalid queue name %s: use 1-128 letters, digits, . _ : -', coalesce(quote_literal(p_name), 'NULL')));
  end if;
  if p_policy is not null and not exists (select 1 from tableos.sched_policy where name = p_policy) then
    perform tableos.sched_fail('TABLEOS_SCHED_UNKNOWN_POLICY',
      format('unknown policy %s; known: %s', quote_literal(p_policy),
             (select string_agg(name, ', ' order by name) from tableos.sched_policy)));
  end if;
  if p_partition < 0 then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID', format('partition must be zero or more, got %s', p_partition));
  end if;
  perform tableos.sched_check_limit('concurrency', p_concurrency);
  perform tableos.sched_check_limit('per-executor concurrency', p_per_executor);
  perform tableos.sched_check_limit('per-key concurrency', p_per_key);
  perform tableos.sched_check_limit('rate limit', p_rate_limit);
  perform tableos.sched_check_limit('rate period (ms)', p_rate_period_ms);
  if (p_rate_limit is null) <> (p_rate_period_ms is null) then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID', 'a rate limit needs both a count and a period');
  end if;
  select * into v_old from tableos.queue where name = p_name;
  v_part := coalesce(p_partition, v_old.partition, 0);
  perform tableos.sched_lock(array[v_old.partition, v_part]);
  if v_old.partition is not null and v_old.partition <> v_part
     and exists (select 1 from tableos.task where queue = p_name and state in ('assigned', 'running')) then
    perform tableos.sched_fail('TABLEOS_SCHED_BUSY',
      format('queue %s has tasks running; its partition can change only when none are', quote_literal(p_name)));
  end if;
  insert into tableos.queue (name, policy, partition, concurrency, per_executor, per_key, rate_limit, rate_period_ms)
  values (p_name, coalesce(p_policy, 'fifo'), v_part, p_concurrency, p_per_executor, p_per_key, p_rate_limit, p_rate_period_ms)
  on conflict (name) do update
     set policy = coalesce(p_policy, queue.policy),
         partition = excluded.partition,
         concurrency = excluded.concurrency,
         per_executor = excluded.per_executor,
         per_key = excluded.per_key,
         rate_limit = excluded.rate_limit,
         rate_period_ms = excluded.rate_period_ms
  returning * into v_row;
  perform tableos.sched_dispatch(v_part, null);
  return v_row;
end;
$$;

create function tableos.sched_queue_pause(p_name text, p_paused boolean) returns tableos.queue
language plpgsql as $$
declare
  v_q tableos.queue := tableos.sched_queue_get(p_name);
begin
  perform tableos.sched_lock(array[v_q.partition]);
  update tableos.queue set paused = p_paused where name = p_name returning * into v_q;
  if not p_paused then
    perform tableos.sched_dispatch(v_q.partition, null);
  end if;
  return v_q;
end;
$$;

-- Swaps the placement policy of a queue; the next placement uses it.
create function tableos.sched_queue_policy(p_name text, p_policy text) returns tableos.queue
language plpgsql as $$
declare
  v_q tableos.queue := tableos.sched_queue_get(p_name);
begin
  if p_policy is null or not exists (select 1 from tableos.sched_policy where name = p_policy) then
    perform tableos.sched_fail('TABLEOS_SCHED_UNKNOWN_POLICY',
      format('unknown policy %s; known: %s', coalesce(quote_literal(p_policy), 'NULL'),
             (select string_agg(name, ', ' order by name) from tableos.sched_policy)));
  end if;
  perform tableos.sched_lock(array[v_q.partition]);
  update tableos.queue set policy = p_policy where name = p_name returning * into v_q;
  return v_q;
end;
$$;

create function tableos.sched_task_get(p_id bigint) returns tableos.task
language plpgsql stable as $$
declare
  v_t tableos.task;
begin
  select * into v_t from tableos.task where id = p_id;
  if not found then
    perform tableos.sched_fail('TABLEOS_SCHED_UNKNOWN_TASK', format('unknown task id %s', coalesce(p_id::text, 'NULL')));
  end if;
  return v_t;
end;
$$;

-- Cancels a task that has not started; a running task is left to finish.
create function tableos.sched_cancel(p_id bigint) returns tableos.task
language plpgsql as $$
declare
  v_t tableos.task := tableos.sched_task_get(p_id);
begin
  if v_t.state <> 'queued' then
    perform tableos.sched_fail('TABLEOS_SCHED_BUSY',
      format('task %s is %s; only a queued task can be cancelled', p_id, v_t.state));
  end if;
  update tableos.task set state = 'cancelled', finished_at = clock_timestamp(), error = 'cancelled'
   where id = p_id and state = 'queued' returning * into v_t;
  perform pg_notify('tableos_task_done', p_id::text);
  return v_t;
end;
$$;

-- Cron. Expressions are parsed by the TypeScript layer, which computes next_at.
create function tableos.sched_cron_upsert(
  p_name text, p_expr text, p_tz text, p_queue text, p_kind text, p_payload jsonb,
  p_backfill boolean, p_next_at timestamptz
) returns tableos.cron
language plpgsql as $$
declare
  v_row tableos.cron;
begin
  if p_name is null or p_name !~ '^[A-Za-z0-9._:-]{1,128}$' then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('invalid schedule name %s: use 1-128 letters, digits, . _ : -', coalesce(quote_literal(p_name), 'NULL')));
  end if;
  if p_kind is null or p_kind !~ '^[A-Za-z0-9._:/-]{1,128}$' then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('invalid task kind %s: use 1-128 letters, digits, . _ : / -', coalesce(quote_literal(p_kind), 'NULL')));
  end if;
  perform tableos.sched_queue_get(p_queue);
  insert into tableos.cron (name, expr, tz, queue, kind, payload, backfill, next_at)
  values (p_name, p_expr, p_tz, p_queue, p_kind, p_payload, coalesce(p_backfill, false), p_next_at)
  on conflict (name) do update
     set expr = excluded.expr, tz = excluded.tz, queue = excluded.queue, kind = excluded.kind,
         payload = excluded.payload, backfill = excluded.backfill, next_at = excluded.next_at
  returning * into v_row;
  perform pg_notify('tableos_cron', p_name);
  return v_row;
end;
$$;

create function tableos.sched_cron_get(p_name text) returns tableos.cron
language plpgsql stable as $$
declare
  v_row tableos.cron;
begin
  select * into v_row from tableos.cron where name = p_name;
  if not found then
    perform tableos.sched_fail('TABLEOS_SCHED_UNKNOWN_CRON',
      format('unknown schedule %s', coalesce(quote_literal(p_name), 'NULL')));
  end if;
  return v_row;
end;
$$;

-- Pausing keeps the row; resuming takes a fresh next_at from the caller (so missed ticks are
-- skipped unless the schedule backfills, in which case next_at is kept).
create function tableos.sched_cron_pause(p_name text, p_paused boolean, p_next_at timestamptz)
returns tableos.cron
language plpgsql as $$
declare
  v_row tableos.cron := tableos.sched_cron_get(p_name);
begin
  update tableos.cron
     set paused = p_paused,
         next_at = case when not p_paused and not backfill then p_next_at else next_at end
   where name = p_name returning * into v_row;
  perform pg_notify('tableos_cron', p_name);
  return v_row;
end;
$$;

create function tableos.sched_cron_remove(p_name text) returns tableos.cron
language plpgsql as $$
declare
  v_row tableos.cron := tableos.sched_cron_get(p_name);
begin
  delete from tableos.cron where name = p_name;
  perform pg_notify('tableos_cron', p_name);
  return v_row;
end;
$$;

-- Fires the given ticks of a schedule if it is still at p_expected (compare-and-set on
-- next_at), enqueuing one task per tick. The unique (cron_name, cron_tick) index makes each
-- tick a task exactly once even if two executors fire at the same moment.
create function tableos.sched_cron_fire(
  p_name text, p_expected timestamptz, p_ticks timestamptz[], p_next_at timestamptz
) returns integer
language plpgsql as $$
declare
  v_c tableos.cron;
  v_n integer;
  v_part integer;
begin
  update tableos.cron set next_at = p_next_at, last_tick = coalesce(p_ticks[cardinality(p_ticks)], last_tick)
   where name = p_name and next_at = p_expected and not paused
  returning * into v_c;
  if not found then
    return 0;
  end if;
  insert into tableos.task (queue, kind, payload, cron_name, cron_tick)
  select v_c.queue, v_c.kind,
         coalesce(v_c.payload, '{}'::jsonb) || jsonb_build_object('tick', tick),
         v_c.name, tick
    from unnest(p_ticks) tick
  on conflict (cron_name, cron_tick) where cron_name is not null do nothing;
  get diagnostics v_n = row_count;
  select partition into v_part from tableos.queue where name = v_c.queue;
  perform tableos.sched_lock(array[v_part]);
  perform tableos.sched_dispatch(v_part, null);
  return v_n;
end;
$$;
