-- The trace context a run started in (a W3C traceparent: the caller's span, an HTTP request's
-- or a parent run's), kept with the run so that every attempt, on whichever executor takes it
-- over, continues the same trace. Null when nothing was being traced at the start.
alter table tableos.workflow add column trace_context text;

comment on column tableos.workflow.trace_context is
  'W3C traceparent of the span the run was started under; each attempt''s span is its child.';

-- wf_start with each run's trace context; the nine-argument form starts runs without one.
create function tableos.wf_start(
  p_id text[], p_name text[], p_input text[], p_status text[], p_executor text,
  p_parent text[], p_parent_seq integer[], p_timeout_ms bigint[], p_max_recovery integer[],
  p_trace text[]
) returns table (id text, name text, status text, executor_id text, output text, error text,
                 deadline timestamptz, created boolean)
language plpgsql as $$
declare
  v_created text[];
  v_deadline timestamptz[];
begin
  with ins as (
    insert into tableos.workflow as w
      (id, name, status, input, executor_id, parent_id, deadline, max_recovery_attempts,
       trace_context)
    select u.id, u.name, u.status, u.input,
           case when u.status = 'pending' then p_executor end,
           u.parent,
           case when u.tmo is not null or u.parent is not null then
             least(case when u.tmo is not null then clock_timestamp() + make_interval(secs => u.tmo / 1000.0) end,
                   (select p.deadline from tableos.workflow p where p.id = u.parent))
           end,
           u.maxrec, u.trace
      from unnest(p_id, p_name, p_input, p_status, p_parent, p_timeout_ms, p_max_recovery, p_trace)
           as u(id, name, input, status, parent, tmo, maxrec, trace)
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

create or replace function tableos.wf_start(
  p_id text[], p_name text[], p_input text[], p_status text[], p_executor text,
  p_parent text[], p_parent_seq integer[], p_timeout_ms bigint[], p_max_recovery integer[]
) returns table (id text, name text, status text, executor_id text, output text, error text,
                 deadline timestamptz, created boolean)
language sql as $$
  select * from tableos.wf_start(p_id, p_name, p_input, p_status, p_executor, p_parent,
                                 p_parent_seq, p_timeout_ms, p_max_recovery,
                                 array_fill(null::text, array[cardinality(p_id)]))
$$;

-- The run-returning entries of the dispatcher and of takeover also return the trace context.
drop function tableos.wf_take_run(text, text, text[]);
create function tableos.wf_take_run(p_id text, p_executor text, p_names text[])
returns table (id text, name text, status text, input text, output text, error text,
               deadline timestamptz, executor_id text, taken boolean, calls json,
               trace_context text)
language plpgsql as $$
#variable_conflict use_column
declare
  v_name text;
  v_taken boolean := false;
begin
  select w.name into v_name from tableos.workflow w where w.id = p_id;
  if not found then
    return;
  end if;
  if v_name = any(p_names) then
    select t.status = 'pending' and t.executor_id = p_executor into v_taken
      from tableos.wf_take(p_id, p_executor) t;
  end if;
  return query
  select w.id, w.name, w.status, w.input, w.output, w.error, w.deadline, w.executor_id,
         coalesce(v_taken, false),
         case when v_taken then tableos.wf_calls_json(w.id) end,
         w.trace_context
    from tableos.workflow w where w.id = p_id;
end;
$$;

drop function tableos.wf_claim_runs(text, text[], text[], integer);
create function tableos.wf_claim_runs(p_executor text, p_names text[], p_ids text[], p_limit integer)
returns table (id text, name text, status text, input text, deadline timestamptz,
               recovery_attempts integer, calls json, trace_context text)
language sql as $$
  with c as materialized (
    select * from tableos.wf_claim(p_executor, p_names, p_ids, p_limit)
  )
  select c.id, c.name, c.status, c.input, c.deadline, c.recovery_attempts,
         case when c.status = 'pending' then tableos.wf_calls_json(c.id) end,
         (select w.trace_context from tableos.workflow w where w.id = c.id)
    from c
$$;

drop function tableos.wf_own_runs(text, text[], text[]);
create function tableos.wf_own_runs(p_executor text, p_names text[], p_running text[])
returns table (id text, name text, status text, input text, deadline timestamptz, calls json,
               trace_context text)
language sql stable as $$
  select w.id, w.name, w.status, w.input, w.deadline, tableos.wf_calls_json(w.id), w.trace_context
    from tableos.workflow w
   where w.status = 'pending' and w.executor_id = p_executor and w.name = any(p_names)
     and not (w.id = any(p_running))
$$;
