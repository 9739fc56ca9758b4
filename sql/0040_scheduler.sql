-- 0040_scheduler: workers, queues and tasks as rows; placement policies as SQL functions.
-- Every change to scheduler state in a partition happens under that partition's row lock,
-- so one partition is one serial scheduler (the VoltDB model) and partitions run in parallel.
-- Lock order, everywhere: partition rows (ascending id), then worker, queue and task rows.

create table tableos.sched_partition (
  id integer primary key check (id >= 0)
);

comment on table tableos.sched_partition is
  'One row per scheduler partition; its row lock serialises placement in the partition.';

create table tableos.sched_policy (
  name text primary key check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  fn text not null,
  description text not null default ''
);

comment on table tableos.sched_policy is
  'Placement policies: fn(task tableos.task, candidates tableos.worker[]) returns the chosen worker id.';

create table tableos.queue (
  name text primary key check (name ~ '^[A-Za-z0-9._:-]{1,128}$'),
  policy text not null default 'fifo' references tableos.sched_policy (name),
  partition integer not null default 0 check (partition >= 0),
  paused boolean not null default false,
  concurrency integer check (concurrency > 0),
  per_executor integer check (per_executor > 0),
  per_key integer check (per_key > 0),
  rate_limit integer check (rate_limit > 0),
  rate_period_ms integer check (rate_period_ms > 0),
  -- Tasks assigned or running; kept under the partition lock.
  running integer not null default 0 check (running >= 0),
  rate_window_start timestamptz not null default '-infinity',
  rate_count integer not null default 0,
  created_at timestamptz not null default now(),
  check ((rate_limit is null) = (rate_period_ms is null))
);

comment on table tableos.queue is
  'Named queues: placement policy, partition, pause flag and flow-control limits (null = unlimited).';

create table tableos.worker (
  id text primary key,
  seq bigint generated always as identity,
  executor_id text not null,
  partition integer not null check (partition >= 0),
  capacity integer not null check (capacity > 0),
  running integer not null default 0 check (running >= 0),
  -- Null when the worker does not account memory.
  mem_total_mb integer check (mem_total_mb >= 0),
  mem_free_mb integer,
  shards text[] not null default '{}',
  -- Task kinds this worker has handlers for; null = any.
  kinds text[],
  status text not null default 'alive' check (status in ('alive', 'stopped', 'dead')),
  started_at timestamptz not null default now(),
  ended_at timestamptz
);

create index worker_partition_alive_idx on tableos.worker (partition) where status = 'alive';
create index worker_executor_idx on tableos.worker (executor_id);

comment on table tableos.worker is
  'Executor slots: one row per executor and partition, with capacity, free memory and data shards.';

create table tableos.task (
  id bigint generated always as identity primary key,
  queue text not null,
  kind text not null,
  payload jsonb,
  priority integer not null default 0,
  state text not null default 'queued'
    check (state in ('queued', 'assigned', 'running', 'done', 'failed', 'cancelled')),
  run_at timestamptz not null default now(),
  memory_mb integer not null default 0 check (memory_mb >= 0),
  locality_key text,
  partition_key text,
  dedup_key text,
  worker_id text,
  executor_id text,
  attempts integer not null default 0,
  max_attempts integer not null default 1 check (max_attempts > 0),
  result jsonb,
  error text,
  cron_name text,
  cron_tick timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);

create index task_ready_idx on tableos.task (queue, priority desc, id) where state = 'queued';
create index task_active_idx on tableos.task (executor_id) where state in ('assigned', 'running');
create unique index task_dedup_idx on tableos.task (queue, dedup_key)
  where dedup_key is not null and state in ('queued', 'assigned', 'running');
create unique index task_cron_tick_idx on tableos.task (cron_name, cron_tick)
  where cron_name is not null;

comment on table tableos.task is
  'Tasks: queued, assigned to a worker, running, then done or failed. Higher priority runs first.';

create table tableos.cron (
  name text primary key check (name ~ '^[A-Za-z0-9._:-]{1,128}$'),
  expr text not null,
  tz text not null default 'UTC',
  queue text not null references tableos.queue (name),
  kind text not null,
  payload jsonb,
  backfill boolean not null default false,
  paused boolean not null default false,
  next_at timestamptz not null,
  last_tick timestamptz,
  created_at timestamptz not null default now()
);

comment on table tableos.cron is
  'Cron schedules. A tick is fired by moving next_at (compare-and-set) and enqueuing one task per tick; the unique (cron_name, cron_tick) makes it exactly once.';

-- Errors carry their TableOS code in DETAIL so the TypeScript layer can raise the right class.
create function tableos.sched_fail(p_code text, p_message text) returns void
language plpgsql as $$
begin
  raise exception using errcode = '22023', message = p_message, detail = p_code;
end;
$$;

-- Built-in policies. Each differs from the others by its ORDER BY.
create function tableos.sched_policy_fifo(p_task tableos.task, p_candidates tableos.worker[])
returns text language sql stable as $$
  select c.id from unnest(p_candidates) c order by c.seq limit 1
$$;

create function tableos.sched_policy_least_loaded(p_task tableos.task, p_candidates tableos.worker[])
returns text language sql stable as $$
  select c.id from unnest(p_candidates) c order by c.running::float8 / c.capacity, c.seq limit 1
$$;

create function tableos.sched_policy_locality(p_task tableos.task, p_candidates tableos.worker[])
returns text language sql stable as $$
  select c.id from unnest(p_candidates) c
   order by coalesce(p_task.locality_key = any (c.shards), false) desc,
            c.running::float8 / c.capacity, c.seq
   limit 1
$$;

insert into tableos.sched_policy (name, fn, description) values
  ('fifo', 'tableos.sched_policy_fifo', 'first worker with room, in registration order'),
  ('least_loaded', 'tableos.sched_policy_least_loaded', 'worker with the lowest running/capacity'),
  ('locality', 'tableos.sched_policy_locality', 'a worker holding the task''s data shard, else least loaded');

create function tableos.sched_policy_add(p_name text, p_fn text, p_description text default '')
returns tableos.sched_policy
language plpgsql as $$
declare
  v_row tableos.sched_policy;
begin
  if p_name is null or p_name !~ '^[a-z][a-z0-9_]{0,62}$' then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('invalid policy name %s: use lower-case letters, digits and _', coalesce(quote_literal(p_name), 'NULL')));
  end if;
  if p_name in ('fifo', 'least_loaded', 'locality') then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('policy %s is built in and cannot be replaced; add yours under another name', p_name));
  end if;
  if p_fn is null or to_regprocedure(p_fn || '(tableos.task, tableos.worker[])') is null then
    perform tableos.sched_fail('TABLEOS_SCHED_INVALID',
      format('policy function %s(tableos.task, tableos.worker[]) does not exist', coalesce(p_fn, 'NULL')));
  end if;
  insert into tableos.sched_policy (name, fn, description)
  values (p_name, to_regprocedure(p_fn || '(tableos.task, tableos.worker[])')::regproc::text, coalesce(p_description, ''))
  on conflict (name) do update set fn = excluded.fn, description = excluded.description
  returning * into v_row;
  return v_row;
end;
$$;

create function tableos.sched_queue_get(p_name text) returns tableos.queue
language plpgsql stable as $$
declare
  v_q tableos.queue;
begin
  select * into v_q from tableos.queue where name = p_name;
  if not found then
    perform tableos.sched_fail('TABLEOS_SCHED_UNKNOWN_QUEUE',
      format('unknown queue %s; create it first (tableos queue create NAME)', coalesce(quote_literal(p_name), 'NULL')));
  end if;
  return v_q;
end;
$$;
