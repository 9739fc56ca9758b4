-- 0001_kernel: the kernel's state. Executors are rows; their leases are kept and
-- reaped by these procedures, on the database's clock, so machines need not agree on time.

create table tableos.executor (
  id text primary key,
  host text not null,
  pid integer not null,
  version text not null,
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now(),
  lease_until timestamptz not null,
  status text not null default 'alive' check (status in ('alive', 'dead', 'stopped')),
  ended_at timestamptz
);

create index executor_alive_lease_idx on tableos.executor (lease_until) where status = 'alive';

comment on table tableos.executor is
  'One row per TableOS node process. A row whose lease ran out is marked dead by whoever notices first; other services take over its work.';

-- Marks every executor whose lease has run out as dead, announces each on channel
-- tableos_executor, and forgets executors that ended more than a day ago.
create function tableos.executor_reap() returns setof text
language plpgsql as $$
declare
  v_id text;
begin
  for v_id in
    update tableos.executor
       set status = 'dead', ended_at = now()
     where status = 'alive' and lease_until < clock_timestamp()
    returning id
  loop
    perform pg_notify('tableos_executor', json_build_object('id', v_id, 'status', 'dead')::text);
    return next v_id;
  end loop;
  delete from tableos.executor
   where status <> 'alive' and ended_at < clock_timestamp() - interval '1 day';
end;
$$;

create function tableos.executor_register(
  p_id text, p_host text, p_pid integer, p_version text, p_lease_ms integer
) returns tableos.executor
language plpgsql as $$
declare
  v_row tableos.executor;
begin
  if p_id is null or p_id !~ '^[A-Za-z0-9._:-]{1,128}$' then
    raise exception 'invalid executor id %: use 1-128 letters, digits, . _ : -', coalesce(quote_literal(p_id), 'NULL')
      using errcode = '22023';
  end if;
  if p_lease_ms is null or p_lease_ms <= 0 then
    raise exception 'lease must be a positive number of milliseconds, got %', p_lease_ms using errcode = '22023';
  end if;
  perform tableos.executor_reap();
  insert into tableos.executor (id, host, pid, version, lease_until)
  values (p_id, p_host, p_pid, p_version, clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0))
  returning * into v_row;
  perform pg_notify('tableos_executor', json_build_object('id', p_id, 'status', 'alive')::text);
  return v_row;
end;
$$;

-- Renews the caller's lease and reaps the others. Returns the caller's status after the
-- call: 'alive', or 'dead' when its lease had already run out (its work may be taken over).
create function tableos.executor_heartbeat(p_id text, p_lease_ms integer) returns text
language plpgsql as $$
declare
  v_status text;
begin
  update tableos.executor
     set heartbeat_at = clock_timestamp(),
         lease_until = clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0)
   where id = p_id and status = 'alive' and lease_until >= clock_timestamp()
  returning status into v_status;
  perform tableos.executor_reap();
  if v_status is null then
    select status into v_status from tableos.executor where id = p_id;
  end if;
  return coalesce(v_status, 'dead');
end;
$$;

create function tableos.executor_stop(p_id text) returns void
language sql as $$
  update tableos.executor set status = 'stopped', ended_at = clock_timestamp(), lease_until = clock_timestamp()
   where id = p_id and status = 'alive';
  select pg_notify('tableos_executor', json_build_object('id', p_id, 'status', 'stopped')::text);
$$;

-- The cheapest possible OS call; measures the cost of the call layer itself.
create function tableos.noop() returns void
language sql as $$ $$;
