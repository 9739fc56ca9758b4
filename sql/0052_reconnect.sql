-- Statements run again after a lost connection. A retried statement may find its first
-- attempt's work committed (the connection dropped after COMMIT was sent); it must then
-- answer as the first attempt would have.
--
-- wf_commit: a start combined with the first checkpoint has a generated id, so a row already
-- there is this statement's own first attempt; it is kept, not an error. Calls and finishes
-- were already insert-once and report what is recorded, which compares equal.

-- Records calls and finishes workflows, many of each in one call (the group commit of the
-- executors' checkpoints); it also inserts runs whose start was combined with their first
-- checkpoint (generated ids only, so they cannot collide). Returns the calls that were
-- already recorded (another run got there first) and the finishes that did not apply,
-- with the status those runs have.
create or replace function tableos.wf_commit(
  p_executor text, s_id text[], s_name text[], s_input text[], s_max_recovery integer[],
  c_wf text[], c_seq integer[], c_kind text[], c_name text[], c_output text[], c_error text[],
  c_started timestamptz[],
  f_id text[], f_status text[], f_output text[], f_error text[]
) returns table (rkind text, workflow_id text, seq integer, kind text, name text,
                 output text, error text, status text)
language plpgsql as $$
declare
  v_n integer;
  v_now timestamptz := now();
  v_done text[];
  v_done_status text[];
  v_diverged text[] := '{}';
begin
  if cardinality(s_id) > 0 then
    insert into tableos.workflow (id, name, status, input, executor_id, max_recovery_attempts)
    select u.id, u.name, 'pending', u.input, p_executor, u.m
      from unnest(s_id, s_name, s_input, s_max_recovery) as u(id, name, input, m)
    on conflict on constraint workflow_pkey do nothing;
  end if;
  if coalesce(array_length(c_wf, 1), 0) > 0 then
    insert into tableos.workflow_call as c (workflow_id, seq, kind, name, output, error, started_at)
    select * from unnest(c_wf, c_seq, c_kind, c_name, c_output, c_error, c_started)
    on conflict do nothing;
    get diagnostics v_n = row_count;
    if v_n < cardinality(c_wf) then
      -- Some positions were recorded already: report what is recorded there (the caller
      -- compares it with its own; the ones it just wrote compare equal).
      return query
      select 'conflict'::text, c.workflow_id, c.seq, c.kind, c.name, c.output, c.error, null::text
        from tableos.workflow_call c
        join unnest(c_wf, c_seq, c_kind, c_name, c_output, c_error) as u(wf, sq, k, n, o, e)
          on c.workflow_id = u.wf and c.seq = u.sq
       where c.kind <> u.k or c.name <> u.n or c.output is distinct from u.o
          or c.error is distinct from u.e or c.ended_at < v_now;
      -- A run whose history differs from what is recorded must not finish it.
      select coalesce(array_agg(distinct c.workflow_id), '{}') into v_diverged
        from tableos.workflow_call c
        join unnest(c_wf, c_seq, c_kind, c_name, c_output, c_error) as u(wf, sq, k, n, o, e)
          on c.workflow_id = u.wf and c.seq = u.sq
       where c.kind <> u.k or c.name <> u.n or c.output is distinct from u.o
          or c.error is distinct from u.e;
    end if;
  end if;
  if coalesce(array_length(f_id, 1), 0) > 0 then
    with upd as (
      update tableos.workflow w
         set status = u.status, output = u.output, error = u.error, updated_at = clock_timestamp()
        from unnest(f_id, f_status, f_output, f_error) as u(id, status, output, error)
       where w.id = u.id and w.status = 'pending' and not (w.id = any(v_diverged))
      returning w.id, w.status
    )
    select coalesce(array_agg(upd.id), '{}'), coalesce(array_agg(upd.status), '{}')
      into v_done, v_done_status from upd;
    perform tableos.wf_announce(v_done, v_done_status);
    if cardinality(v_done) < cardinality(f_id) then
      -- Runs that were no longer pending (cancelled meanwhile, or finished by another run):
      -- report how they did end. The others ended as the caller said.
      return query
      select 'finish'::text, w.id, null::integer, null::text, w.name, w.output, w.error, w.status
        from tableos.workflow w where w.id = any(f_id) and not (w.id = any(v_done));
    end if;
  end if;
end;
$$;

-- executor_register: a node opening against a database that drops its connection registers
-- again with the same id. The row its first attempt wrote (same host and pid, still alive)
-- is renewed and returned; an id held by another process is still refused.
create or replace function tableos.executor_register(
  p_id text, p_host text, p_pid integer, p_version text, p_lease_ms integer
) returns tableos.executor
language plpgsql as $$
declare
  v_row tableos.executor;
begin
  if p_id is null or p_id !~ '^[A-Za-z0-9._:-]{1,128}$' then
    perform tableos.raise_error('TABLEOS_INVALID_ARGUMENT',
      format('invalid executor id %s: use 1-128 letters, digits, . _ : -', coalesce(quote_literal(p_id), 'NULL')));
  end if;
  if p_lease_ms is null or p_lease_ms <= 0 then
    perform tableos.raise_error('TABLEOS_INVALID_ARGUMENT',
      format('lease must be a positive number of milliseconds, got %s', coalesce(p_lease_ms::text, 'NULL')));
  end if;
  perform tableos.executor_reap();
  insert into tableos.executor as e (id, host, pid, version, lease_until)
  values (p_id, p_host, p_pid, p_version, clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0))
  on conflict (id) do update
    set lease_until = excluded.lease_until, heartbeat_at = clock_timestamp()
    where e.host = excluded.host and e.pid = excluded.pid and e.status = 'alive'
  returning * into v_row;
  if not found then
    perform tableos.raise_error('TABLEOS_INVALID_ARGUMENT',
      format('executor id %s is already registered by another process', quote_literal(p_id)));
  end if;
  perform pg_notify('tableos_executor', json_build_object('id', p_id, 'status', 'alive')::text);
  return v_row;
end;
$$;
