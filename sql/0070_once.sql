-- 0070_once: statements run once by token. A client that loses its connection cannot tell
-- whether its last statement committed; it runs the statement again with the same token, and
-- a statement that had committed returns the outcome it recorded then instead of doing its
-- work twice. The client forgets a token (p_forget of a later statement) once it has the
-- reply, so the table holds only outcomes whose reply may have been lost; what a process that
-- died left behind is swept after a day (longer than the longest reconnect deadline).

create table tableos.op_result (
  token uuid primary key,
  result jsonb not null,
  done_at timestamptz not null default now()
);

create index op_result_done_idx on tableos.op_result (done_at);

comment on table tableos.op_result is
  'Outcomes of statements run once by token, kept until their client has the reply (or for a day).';

-- Starts a statement run once by p_token: forgets the tokens whose replies arrived, then
-- returns the outcome recorded by an earlier run of p_token, or null when there was none. The
-- lock makes a retry wait for an earlier attempt whose transaction is still open on a backend
-- that has not yet noticed its client went away.
create function tableos.op_recall(p_token uuid, p_forget uuid[]) returns jsonb
language plpgsql as $$
declare
  v_result jsonb;
begin
  if p_token is null then
    perform tableos.raise_error('TABLEOS_INVALID_ARGUMENT', 'a statement run once needs a token');
  end if;
  if p_forget is not null and cardinality(p_forget) > 0 then
    delete from tableos.op_result where token = any(p_forget);
  end if;
  perform pg_advisory_xact_lock(1953393007, hashtext(p_token::text));
  select r.result into v_result from tableos.op_result r where r.token = p_token;
  return v_result;
end;
$$;

-- Records the outcome of the statement run once by p_token, in its transaction.
create function tableos.op_record(p_token uuid, p_result jsonb) returns void
language sql as $$
  insert into tableos.op_result (token, result) values (p_token, coalesce(p_result, 'null'::jsonb));
$$;

-- Each heartbeat also sweeps what dead clients left.
create or replace function tableos.executor_heartbeat(p_id text, p_lease_ms integer) returns text
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
  delete from tableos.op_result where done_at < clock_timestamp() - interval '25 hours';
  if v_status is null then
    select status into v_status from tableos.executor where id = p_id;
  end if;
  return coalesce(v_status, 'dead');
end;
$$;
