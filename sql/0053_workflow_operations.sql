-- 0053_workflow_operations: one statement per workflow operation. A send, a receive and a
-- setEvent carry the run's checkpoints not yet written (and a start held back to travel with
-- them) into their own statement, so the checkpoints, the effect and the operation's record
-- commit together; taking a run returns its recorded calls.
--
-- Every function here is safe to run twice: a retry after a commit whose answer was lost
-- finds the first attempt's record at the operation's position and answers from it.

-- Writes the checkpoints an operation carries, as wf_commit does (generated-id starts, calls
-- insert-once by position), and reports the positions that were recorded already, with
-- diverged = true where the recorded call differs from the carried one (another run of the
-- workflow got there first; this run must not act on).
create function tableos.wf_carry(
  p_executor text, s_id text[], s_name text[], s_input text[], s_max_recovery integer[],
  c_wf text[], c_seq integer[], c_kind text[], c_name text[], c_output text[], c_error text[],
  c_started timestamptz[]
) returns table (seq integer, kind text, name text, output text, error text, diverged boolean)
language sql as $$
  select r.seq, r.kind, r.name, r.output, r.error,
         (r.kind, r.name, r.output, r.error) is distinct from (u.k, u.n, u.o, u.e)
    from tableos.wf_commit(p_executor, s_id, s_name, s_input, s_max_recovery,
                           c_wf, c_seq, c_kind, c_name, c_output, c_error, c_started,
                           '{}', '{}', '{}', '{}') r
    join unnest(c_wf, c_seq, c_kind, c_name, c_output, c_error) as u(wf, sq, k, n, o, e)
      on r.workflow_id = u.wf and r.seq = u.sq
$$;

-- A JSON value as src/workflows/serialize.ts stores it: an object that has the tag key "$t"
-- is wrapped as {"$t": "Object", "v": ...}, at any depth, so it is not read back as a tag.
create function tableos.wf_encode_json(p jsonb) returns jsonb
language plpgsql immutable strict as $$
declare
  v jsonb;
begin
  if position('"$t"' in p::text) = 0 then
    return p;
  end if;
  case jsonb_typeof(p)
    when 'object' then
      select coalesce(jsonb_object_agg(e.k, tableos.wf_encode_json(e.x)), '{}') into v
        from jsonb_each(p) as e(k, x);
      return case when v ? '$t' then jsonb_build_object('$t', 'Object', 'v', v) else v end;
    when 'array' then
      select coalesce(jsonb_agg(tableos.wf_encode_json(e.x) order by e.i), '[]') into v
        from jsonb_array_elements(p) with ordinality as e(x, i);
      return v;
    else
      return p;
  end case;
end;
$$;

-- Sends a workflow's message (to one mailbox or several, all or none) through msg_send with
-- the idempotency id p_msg_id, and records the send's call at p_seq, with the carried
-- checkpoints, in one transaction. Rows: 'conflict' for carried positions recorded already
-- (nothing is sent when one diverged); 'recorded' with the call at p_seq when it was there
-- (the send happened then: nothing is sent again); 'done' when this call sent it.
create function tableos.wf_send(
  p_executor text, s_id text[], s_name text[], s_input text[], s_max_recovery integer[],
  c_wf text[], c_seq integer[], c_kind text[], c_name text[], c_output text[], c_error text[],
  c_started timestamptz[],
  p_wf text, p_seq integer, p_name text, p_output text, p_started timestamptz,
  p_receivers text[], p_sender text, p_topic text, p_msg_id text, p_body text
) returns table (rkind text, seq integer, kind text, name text, output text, error text)
language plpgsql as $$
#variable_conflict use_column
declare
  r record;
  v_diverged boolean := false;
  v_n integer := cardinality(p_receivers);
begin
  for r in select * from tableos.wf_carry(p_executor, s_id, s_name, s_input, s_max_recovery,
                                          c_wf, c_seq, c_kind, c_name, c_output, c_error, c_started)
  loop
    v_diverged := v_diverged or r.diverged;
    return query select 'conflict'::text, r.seq, r.kind, r.name, r.output, r.error;
  end loop;
  if v_diverged then
    return;
  end if;
  -- Insert-once: a second run of the workflow at this position waits for the first one's
  -- commit here and then finds its record, so the message goes out once.
  insert into tableos.workflow_call (workflow_id, seq, kind, name, output, started_at)
  values (p_wf, p_seq, 'send', p_name, p_output, p_started)
  on conflict do nothing;
  if not found then
    return query select 'recorded'::text, c.seq, c.kind, c.name, c.output, c.error
                   from tableos.workflow_call c where c.workflow_id = p_wf and c.seq = p_seq;
    return;
  end if;
  perform tableos.msg_send(p_receivers, array_fill(p_sender, array[v_n]),
                           array_fill(p_topic, array[v_n]), array_fill(p_msg_id, array[v_n]),
                           array_fill(null::text, array[v_n]), array_fill(p_body, array[v_n]),
                           '{}', '{}');
  return query select 'done'::text, p_seq, 'send'::text, p_name, p_output, null::text;
end;
$$;

-- Receives a workflow's next message (of p_topic, or any when null) from its mailbox: with the
-- carried checkpoints (the wait's deadline among them, on the first try), consumes the oldest
-- message and records it as the recv call at p_seq, in one transaction, so a message is
-- neither lost nor taken twice. Rows as wf_send's, and 'none' when no message is there yet
-- (the caller waits and tries again); with p_final (the wait's deadline has passed) no
-- message is recorded as an empty result instead. The output is the message as the
-- workflow serializer writes it.
create function tableos.wf_recv(
  p_executor text, s_id text[], s_name text[], s_input text[], s_max_recovery integer[],
  c_wf text[], c_seq integer[], c_kind text[], c_name text[], c_output text[], c_error text[],
  c_started timestamptz[],
  p_wf text, p_seq integer, p_name text, p_started timestamptz,
  p_mailbox text, p_topic text, p_final boolean
) returns table (rkind text, seq integer, kind text, name text, output text, error text)
language plpgsql as $$
#variable_conflict use_column
declare
  r record;
  m record;
  v_diverged boolean := false;
  v_output text;
begin
  for r in select * from tableos.wf_carry(p_executor, s_id, s_name, s_input, s_max_recovery,
                                          c_wf, c_seq, c_kind, c_name, c_output, c_error, c_started)
  loop
    v_diverged := v_diverged or r.diverged;
    return query select 'conflict'::text, r.seq, r.kind, r.name, r.output, r.error;
  end loop;
  if v_diverged then
    return;
  end if;
  -- One receive of this workflow at a time: a second run of it waits here for the first
  -- one's commit, then finds the position recorded and takes nothing.
  perform pg_advisory_xact_lock(hashtextextended('tableos.wf_recv ' || p_wf, 0));
  return query select 'recorded'::text, c.seq, c.kind, c.name, c.output, c.error
                 from tableos.workflow_call c where c.workflow_id = p_wf and c.seq = p_seq;
  if found then
    return;
  end if;
  select * into m
    from tableos.msg_take(array[p_mailbox], array[p_topic], array[1], array[null::integer]) t
   where not t.missing;
  if found then
    -- The same fields and tags as serialize() of the Message a receive returns.
    v_output := json_build_object(
      'mailbox', m.receiver,
      'seq', m.seq,
      'sender', m.sender,
      'topic', case when m.topic = '' then '{"$t":"undefined"}'::json else to_json(m.topic) end,
      'id', coalesce(to_json(m.id), '{"$t":"undefined"}'::json),
      'corr', coalesce(to_json(m.corr), '{"$t":"undefined"}'::json),
      'body', tableos.wf_encode_json(m.body),
      'sentAt', json_build_object('$t', 'Date',
                  'v', to_char(m.sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
      'deliveries', m.deliveries)::text;
  elsif not p_final then
    return query select 'none'::text, p_seq, null::text, p_name, null::text, null::text;
    return;
  end if;
  insert into tableos.workflow_call (workflow_id, seq, kind, name, output, started_at)
  values (p_wf, p_seq, 'recv', p_name, v_output, p_started);
  return query select 'done'::text, p_seq, 'recv'::text, p_name, v_output, null::text;
end;
$$;

-- Publishes an event of a workflow (wf_set_event) with the carried checkpoints, in one
-- commit. Rows as wf_send's.
create function tableos.wf_set_event(
  p_executor text, s_id text[], s_name text[], s_input text[], s_max_recovery integer[],
  c_wf text[], c_seq integer[], c_kind text[], c_name text[], c_output text[], c_error text[],
  c_started timestamptz[],
  p_wf text, p_seq integer, p_key text, p_value text
) returns table (rkind text, seq integer, kind text, name text, output text, error text)
language plpgsql as $$
#variable_conflict use_column
declare
  r record;
  v_diverged boolean := false;
begin
  for r in select * from tableos.wf_carry(p_executor, s_id, s_name, s_input, s_max_recovery,
                                          c_wf, c_seq, c_kind, c_name, c_output, c_error, c_started)
  loop
    v_diverged := v_diverged or r.diverged;
    return query select 'conflict'::text, r.seq, r.kind, r.name, r.output, r.error;
  end loop;
  if v_diverged then
    return;
  end if;
  if tableos.wf_set_event(p_wf, p_seq, p_key, p_value) then
    return query select 'done'::text, p_seq, 'set_event'::text, p_key, null::text, null::text;
  else
    return query select 'recorded'::text, c.seq, c.kind, c.name, c.output, c.error
                   from tableos.workflow_call c where c.workflow_id = p_wf and c.seq = p_seq;
  end if;
end;
$$;

-- The recorded calls of one run, in order, as a JSON array (what a resumed run replays).
create function tableos.wf_calls_json(p_id text) returns json
language sql stable as $$
  select coalesce(json_agg(c order by c.seq), '[]') from tableos.workflow_call c
   where c.workflow_id = p_id
$$;

-- Takes one run for this executor to run now (wf_take) and returns it with its recorded
-- calls, in one statement: the dispatcher's entry. Only a run of a workflow in p_names is
-- taken; another comes back as it is (taken = false), as does a run that is finished or
-- belongs to a live executor. No row when there is no such run.
create function tableos.wf_take_run(p_id text, p_executor text, p_names text[])
returns table (id text, name text, status text, input text, output text, error text,
               deadline timestamptz, executor_id text, taken boolean, calls json)
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
         case when v_taken then tableos.wf_calls_json(w.id) end
    from tableos.workflow w where w.id = p_id;
end;
$$;

-- wf_claim with the recorded calls of each claimed run that is to be resumed.
create function tableos.wf_claim_runs(p_executor text, p_names text[], p_ids text[], p_limit integer)
returns table (id text, name text, status text, input text, deadline timestamptz,
               recovery_attempts integer, calls json)
language sql as $$
  with c as materialized (
    select * from tableos.wf_claim(p_executor, p_names, p_ids, p_limit)
  )
  select c.id, c.name, c.status, c.input, c.deadline, c.recovery_attempts,
         case when c.status = 'pending' then tableos.wf_calls_json(c.id) end
    from c
$$;

-- This executor's own pending runs of the given workflows, except those in p_running (going
-- on in the caller's process), with their recorded calls: runs left pending while the
-- database was unreachable, or claimed by a statement whose answer was lost.
create function tableos.wf_own_runs(p_executor text, p_names text[], p_running text[])
returns table (id text, name text, status text, input text, deadline timestamptz, calls json)
language sql stable as $$
  select w.id, w.name, w.status, w.input, w.deadline, tableos.wf_calls_json(w.id)
    from tableos.workflow w
   where w.status = 'pending' and w.executor_id = p_executor and w.name = any(p_names)
     and not (w.id = any(p_running))
$$;
