-- 0080_http: the HTTP gateway's idempotency records. A request with an Idempotency-Key runs
-- as the workflow whose id is the route's prefix and the key; the row below keeps a hash of
-- the request that first used the key, so the same key with a different request is refused
-- instead of being answered with another request's result.

create table tableos.http_request (
  workflow_id text primary key,
  route text not null,
  body_hash text not null,
  created_at timestamptz not null default now()
);

create index http_request_created_idx on tableos.http_request (created_at);

comment on table tableos.http_request is
  'Idempotency keys of HTTP requests: the run (workflow id) each key names and a hash of the request that first used it.';

-- Claims p_workflow_id for a request of route p_route with body hash p_body_hash, or returns
-- the claim already there. Safe to repeat: a retry finds its own claim. A concurrent claim of
-- the same id waits on the conflict, then reads the committed row (a new snapshot per statement).
create function tableos.http_claim(p_workflow_id text, p_route text, p_body_hash text)
returns table (claimed_route text, claimed_hash text, created boolean)
language plpgsql as $$
begin
  if p_workflow_id is null or p_route is null or p_body_hash is null then
    perform tableos.raise_error('TABLEOS_INVALID_ARGUMENT', 'http_claim needs a workflow id, a route and a body hash');
  end if;
  insert into tableos.http_request (workflow_id, route, body_hash)
  values (p_workflow_id, p_route, p_body_hash)
  on conflict (workflow_id) do nothing;
  if found then
    return query select p_route, p_body_hash, true;
    return;
  end if;
  return query
    select r.route, r.body_hash, false from tableos.http_request r where r.workflow_id = p_workflow_id;
end;
$$;

-- Deletes claims older than p_older_than_ms whose run is gone (collected by wf_gc or never
-- started), at most p_batch of them; returns how many.
create function tableos.http_gc(p_older_than_ms bigint, p_batch integer) returns integer
language sql as $$
  with gone as (
    select r.workflow_id from tableos.http_request r
     where r.created_at < clock_timestamp() - make_interval(secs => p_older_than_ms / 1000.0)
       and not exists (select 1 from tableos.workflow w where w.id = r.workflow_id)
     limit p_batch
  ), deleted as (
    delete from tableos.http_request r using gone where r.workflow_id = gone.workflow_id returning 1
  )
  select count(*)::integer from deleted;
$$;
