-- 0010_workflows: reliable execution. A workflow is a row; every completed call it makes
-- (procedure, step, child start, sleep, recorded value, event) is a row in workflow_call,
-- so a run can be resumed anywhere by replaying its recorded calls.

create table tableos.workflow (
  id text primary key,
  name text not null,
  status text not null check (status in
    ('enqueued', 'pending', 'success', 'error', 'cancelled', 'max_recovery_exceeded')),
  input text,
  output text,
  error text,
  executor_id text,
  parent_id text,
  forked_from text,
  recovery_attempts integer not null default 0,
  max_recovery_attempts integer not null default 10,
  deadline timestamptz,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp()
);

create index workflow_pending_executor_idx on tableos.workflow (executor_id) where status = 'pending';
-- Few indexes on purpose: every start and finish pays for each one. Listing by status or
-- name and gc walk created_at.
create index workflow_created_idx on tableos.workflow (created_at);
create index workflow_parent_idx on tableos.workflow (parent_id) where parent_id is not null;

comment on table tableos.workflow is
  'One row per durable workflow run; id is the idempotency key. executor_id names the executor running it while pending.';

-- No foreign key to workflow: the hot path inserts calls without locking the parent row;
-- wf_gc deletes calls and events together with their workflow.
create table tableos.workflow_call (
  workflow_id text not null,
  seq integer not null,
  kind text not null,
  name text not null,
  output text,
  error text,
  started_at timestamptz,
  ended_at timestamptz not null default clock_timestamp(),
  primary key (workflow_id, seq)
);

comment on table tableos.workflow_call is
  'The recorded result of each call a workflow made, by position; replayed on resume, never run again.';

create table tableos.workflow_event (
  workflow_id text not null,
  key text not null,
  value text,
  updated_at timestamptz not null default clock_timestamp(),
  primary key (workflow_id, key)
);

-- An error as the serializer in src/workflows/serialize.ts writes it, for errors made in SQL.
create function tableos.wf_error_json(p_name text, p_code text, p_message text) returns text
language sql immutable as $$
  select json_build_object('$t', 'Error', 'name', p_name, 'code', p_code, 'message', p_message)::text
$$;

-- Announces status changes on channel tableos_wf, one line "status id" per workflow, in
-- payloads small enough for NOTIFY.
create function tableos.wf_announce(p_ids text[], p_statuses text[]) returns void
language sql as $$
  select pg_notify('tableos_wf', string_agg(s || ' ' || i, E'\n'))
    from (select i, s, (row_number() over () - 1) / 20 as g
            from unnest(p_ids, p_statuses) as u(i, s)) x
   group by g
$$;

-- Starts workflows idempotently, many in one call. Existing ids are returned as they are
-- (created = false); a child start also records the parent's 'child' call in the same commit.
create function tableos.wf_start(
  p_id text[], p_name text[], p_input text[], p_status text[], p_executor text,
  p_parent text[], p_parent_seq integer[], p_timeout_ms bigint[], p_max_recovery integer[]
) returns table (id text, name text, status text, executor_id text, output text, error text,
                 deadline timestamptz, created boolean)
language plpgsql as $$
declare
  v_created text[];
  v_deadline timestamptz[];
begin
  with ins as (
    insert into tableos.workflow as w
      (id, name, status, input, executor_id, parent_id, deadline, max_recovery_attempts)
    select u.id, u.name, u.status, u.input,
           case when u.status = 'pending' then p_executor end,
           u.parent,
           case when u.tmo is not null or u.parent is not null then
             least(case when u.tmo is not null then clock_timestamp() + make_interval(secs => u.tmo / 1000.0) end,
                   (select p.deadline from tableos.workflow p where p.id = u.parent))
           end,
           u.maxrec
      from unnest(p_id, p_name, p_input, p_status, p_parent, p_timeout_ms, p_max_recovery)
           as u(id, name, input, status, parent, tmo, maxrec)
    on conflict on constraint workflow_pkey do nothing
    returning w.id, w.deadline
  )
  select coalesce(array_agg(ins.id), '{}'), coalesce(array_agg(ins.deadline), '{}')
    into v_created, v_deadline from ins;

  if exists (select 1 from unnest(p_parent_seq) as x where x is not null) then
    insert into tableos.workflow_call (workflow_id, seq, kind, name, output)
    select u.parent, u.pseq, 'child', u.name, to_json(u.id)::text
      from unnest(p_id, p_name, p_parent, p_parent_seq) as u(id, name, parent, pseq)
     where u.parent is not null and u.pseq is not null
    on conflict do nothing;
  end if;

  if cardinality(v_created) = cardinality(p_id) then
    -- All new (the usual case): answer from what was inserted, without reading rows back.
    return query
    select c.id, null::text, null::text, null::text, null::text, null::text, c.deadline, true
      from unnest(v_created, v_deadline) as c(id, deadline);
  else
    return query
    select w.id, w.name, w.status, w.executor_id, w.output, w.error, w.deadline, w.id = any(v_created)
      from tableos.workflow w where w.id = any(p_id);
  end if;
end;
$$;

-- Records calls and finishes workflows, many of each in one call (the group commit of the
-- executors' checkpoints); it also inserts runs whose start was combined with their first
-- checkpoint (generated ids only, so they cannot collide). Returns the calls that were
-- already recorded (another run got there first) and the finishes that did not apply,
-- with the status those runs have.
create function tableos.wf_commit(
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
      from unnest(s_id, s_name, s_input, s_max_recovery) as u(id, name, input, m);
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

-- Publishes an event of a workflow and records the call that did it, in one commit.
create function tableos.wf_set_event(p_wf text, p_seq integer, p_key text, p_value text)
returns boolean
language plpgsql as $$
begin
  insert into tableos.workflow_call (workflow_id, seq, kind, name, output)
  values (p_wf, p_seq, 'set_event', p_key, null)
  on conflict do nothing;
  if not found then
    return false;
  end if;
  insert into tableos.workflow_event (workflow_id, key, value) values (p_wf, p_key, p_value)
  on conflict (workflow_id, key) do update set value = excluded.value, updated_at = clock_timestamp();
  perform pg_notify('tableos_wf_event', p_wf);
  return true;
end;
$$;

-- Claims pending workflows whose executor is gone (dead, stopped or never set), for an
-- executor that has their code. Each claim counts as a recovery attempt; past the cap the
-- workflow ends with status max_recovery_exceeded instead of being run again.
create function tableos.wf_claim(p_executor text, p_names text[], p_ids text[], p_limit integer)
returns table (id text, name text, status text, input text, deadline timestamptz,
               recovery_attempts integer)
language plpgsql as $$
declare
  r record;
  v_over text[] := '{}';
begin
  perform tableos.executor_reap();
  for r in
    with c as (
      select w.id from tableos.workflow w
       where w.status = 'pending'
         and w.name = any(p_names)
         and (p_ids is null or w.id = any(p_ids))
         and (w.executor_id is null or not exists
               (select 1 from tableos.executor e where e.id = w.executor_id and e.status = 'alive'))
       order by w.created_at
       limit p_limit
       for update of w skip locked
    )
    update tableos.workflow w
       set executor_id = p_executor,
           recovery_attempts = w.recovery_attempts + 1,
           status = case when w.recovery_attempts + 1 > w.max_recovery_attempts
                         then 'max_recovery_exceeded' else 'pending' end,
           error = case when w.recovery_attempts + 1 > w.max_recovery_attempts
                        then tableos.wf_error_json('WorkflowRecoveryLimitError', 'TABLEOS_WORKFLOW_RECOVERY_LIMIT',
                               format('workflow %s was recovered %s times, its cap; its executor kept dying while running it. Fix the cause, then resume it.',
                                      w.id, w.max_recovery_attempts))
                        else w.error end,
           updated_at = clock_timestamp()
      from c where w.id = c.id
    returning w.id, w.name, w.status, w.input, w.deadline, w.recovery_attempts
  loop
    if r.status = 'max_recovery_exceeded' then
      v_over := v_over || r.id;
    end if;
    id := r.id; name := r.name; status := r.status; input := r.input;
    deadline := r.deadline; recovery_attempts := r.recovery_attempts;
    return next;
  end loop;
  perform tableos.wf_announce(v_over, array_fill('max_recovery_exceeded'::text, array[cardinality(v_over)]));
end;
$$;

-- Takes one workflow for this executor to run now: an enqueued one (dispatched by the
-- scheduler) or a pending one whose executor is gone. Not counted as a recovery.
create function tableos.wf_take(p_id text, p_executor text)
returns table (id text, name text, status text, input text, deadline timestamptz, executor_id text)
language plpgsql as $$
begin
  perform tableos.executor_reap();
  return query
  update tableos.workflow w
     set status = 'pending', executor_id = p_executor, updated_at = clock_timestamp()
   where w.id = p_id
     and (w.status = 'enqueued'
          or (w.status = 'pending' and (w.executor_id is null or w.executor_id = p_executor or not exists
               (select 1 from tableos.executor e where e.id = w.executor_id and e.status = 'alive'))))
  returning w.id, w.name, w.status, w.input, w.deadline, w.executor_id;
  if not found then
    return query select w.id, w.name, w.status, w.input, w.deadline, w.executor_id
                   from tableos.workflow w where w.id = p_id;
  end if;
end;
$$;

create function tableos.wf_require(p_id text) returns tableos.workflow
language plpgsql as $$
declare
  v tableos.workflow;
begin
  select * into v from tableos.workflow where id = p_id;
  if not found then
    raise exception 'no workflow with id %', quote_literal(p_id) using errcode = 'P0002';
  end if;
  return v;
end;
$$;

-- Cancels a workflow and every descendant that has not finished (p_timeout: because its
-- deadline passed); returns the ids cancelled.
create function tableos.wf_cancel(p_id text, p_message text, p_timeout boolean) returns setof text
language plpgsql as $$
declare
  v_ids text[];
begin
  perform tableos.wf_require(p_id);
  with recursive tree as (
    select p_id as id
    union all
    select w.id from tableos.workflow w join tree t on w.parent_id = t.id
  ), upd as (
    update tableos.workflow w
       set status = 'cancelled', updated_at = clock_timestamp(),
           error = case when p_timeout
             then tableos.wf_error_json('WorkflowTimeoutError', 'TABLEOS_WORKFLOW_TIMEOUT',
                    coalesce(p_message, format('workflow %s ran past its deadline and was cancelled', w.id)))
             else tableos.wf_error_json('WorkflowCancelledError', 'TABLEOS_WORKFLOW_CANCELLED',
                    coalesce(p_message, format('workflow %s was cancelled', w.id))) end
      from tree where w.id = tree.id and w.status in ('pending', 'enqueued')
    returning w.id
  )
  select coalesce(array_agg(upd.id), '{}') into v_ids from upd;
  perform tableos.wf_announce(v_ids, array_fill('cancelled'::text, array[cardinality(v_ids)]));
  return query select unnest(v_ids);
end;
$$;

-- Makes a stopped workflow (cancelled, error, over its recovery cap) and its stopped
-- descendants pending again, with no executor, so a live executor with its code claims it.
create function tableos.wf_resume(p_id text) returns setof text
language plpgsql as $$
declare
  v tableos.workflow;
  v_ids text[];
begin
  v := tableos.wf_require(p_id);
  if v.status = 'success' then
    raise exception 'workflow % already finished successfully; fork it to run it again', quote_literal(p_id)
      using errcode = '55000';
  end if;
  with recursive tree as (
    select p_id as id
    union all
    select w.id from tableos.workflow w join tree t on w.parent_id = t.id
  ), upd as (
    update tableos.workflow w
       set status = 'pending', executor_id = null, error = null, recovery_attempts = 0,
           deadline = null, updated_at = clock_timestamp()
      from tree where w.id = tree.id
       and w.status in ('cancelled', 'error', 'max_recovery_exceeded')
    returning w.id
  )
  select coalesce(array_agg(upd.id), '{}') into v_ids from upd;
  perform tableos.wf_announce(v_ids, array_fill('pending'::text, array[cardinality(v_ids)]));
  return query select unnest(v_ids);
end;
$$;

-- A new workflow with the same name and input whose calls before position p_from are copied
-- (they will be replayed, not run); from p_from on it runs the current code.
create function tableos.wf_fork(p_id text, p_from integer, p_new_id text) returns text
language plpgsql as $$
declare
  v tableos.workflow;
begin
  v := tableos.wf_require(p_id);
  if p_from is null or p_from < 0 then
    raise exception 'fork position must be 0 or more, got %', p_from using errcode = '22023';
  end if;
  insert into tableos.workflow (id, name, status, input, forked_from, max_recovery_attempts)
  values (p_new_id, v.name, 'pending', v.input, p_id, v.max_recovery_attempts);
  insert into tableos.workflow_call (workflow_id, seq, kind, name, output, error, started_at, ended_at)
  select p_new_id, c.seq, c.kind, c.name, c.output, c.error, c.started_at, c.ended_at
    from tableos.workflow_call c where c.workflow_id = p_id and c.seq < p_from;
  perform tableos.wf_announce(array[p_new_id], array['pending']);
  return p_new_id;
end;
$$;

-- Deletes up to p_batch finished workflows last changed more than p_older_ms ago, with
-- their calls and events; returns how many it deleted (call again until it returns 0).
create function tableos.wf_gc(p_older_ms bigint, p_batch integer) returns integer
language plpgsql as $$
declare
  v_ids text[];
begin
  select array_agg(w.id) into v_ids from (
    select id from tableos.workflow
     where status in ('success', 'error', 'cancelled', 'max_recovery_exceeded')
       and created_at < clock_timestamp() - make_interval(secs => p_older_ms / 1000.0)
       and updated_at < clock_timestamp() - make_interval(secs => p_older_ms / 1000.0)
     order by created_at
     limit p_batch
     for update skip locked
  ) w;
  if v_ids is null then
    return 0;
  end if;
  delete from tableos.workflow_call where workflow_id = any(v_ids);
  delete from tableos.workflow_event where workflow_id = any(v_ids);
  delete from tableos.workflow where id = any(v_ids);
  return cardinality(v_ids);
end;
$$;

create function tableos.wf_list(
  p_status text, p_name text, p_since timestamptz, p_until timestamptz, p_limit integer, p_offset integer
) returns setof tableos.workflow
language sql stable as $$
  select * from tableos.workflow
   where (p_status is null or status = p_status)
     and (p_name is null or name = p_name)
     and (p_since is null or created_at >= p_since)
     and (p_until is null or created_at < p_until)
   order by created_at desc, id
   limit p_limit offset p_offset
$$;

create function tableos.wf_steps(p_id text) returns setof tableos.workflow_call
language plpgsql stable as $$
begin
  perform tableos.wf_require(p_id);
  return query select * from tableos.workflow_call where workflow_id = p_id order by seq;
end;
$$;
