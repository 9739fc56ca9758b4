-- 0020_messaging: durable mailboxes. A message is a row in its receiver's partition; sending
-- inserts (and NOTIFYs the receiver's channel), receiving deletes or leases, acking deletes.

create table tableos.mailbox (
  name text primary key,
  created_at timestamptz not null default now(),
  -- Messages older than this are removed by msg_expire and counted in expired.
  retention interval not null default interval '7 days' check (retention > interval '0'),
  expired bigint not null default 0,
  last_expired_at timestamptz,
  constraint mailbox_name_check check (name ~ '^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$')
);

comment on table tableos.mailbox is
  'One row per mailbox (a process, a workflow, a service). Created by the first send to it or explicitly.';

create sequence tableos.message_seq;

-- Partitioned by receiver, so a mailbox''s traffic touches one partition.
create table tableos.message (
  receiver text not null,
  -- Order of sending: one sender''s messages commit in this order, which gives FIFO per pair.
  seq bigint not null default nextval('tableos.message_seq'),
  sender text not null,
  topic text not null default '',
  -- Caller-given message id (idempotency key), or null.
  id text,
  -- For replies: the id of the request this answers.
  corr text,
  body jsonb not null,
  sent_at timestamptz not null default now(),
  -- Set while a receiver holds the message under a lease (at-least-once mode).
  claimed_until timestamptz,
  deliveries integer not null default 0,
  primary key (receiver, seq)
) partition by hash (receiver);

create table tableos.message_p0 partition of tableos.message for values with (modulus 8, remainder 0);
create table tableos.message_p1 partition of tableos.message for values with (modulus 8, remainder 1);
create table tableos.message_p2 partition of tableos.message for values with (modulus 8, remainder 2);
create table tableos.message_p3 partition of tableos.message for values with (modulus 8, remainder 3);
create table tableos.message_p4 partition of tableos.message for values with (modulus 8, remainder 4);
create table tableos.message_p5 partition of tableos.message for values with (modulus 8, remainder 5);
create table tableos.message_p6 partition of tableos.message for values with (modulus 8, remainder 6);
create table tableos.message_p7 partition of tableos.message for values with (modulus 8, remainder 7);

-- Receives of one topic (and RPC requests among other messages) go straight to it.
create index message_topic_idx on tableos.message (receiver, topic, seq);

comment on table tableos.message is
  'Messages not yet consumed, acknowledged or expired, partitioned by receiver.';

-- Idempotency keys of sends that named an id: a replayed send with the same (sender, id) is a
-- no-op even after the message was consumed. Kept for a week, then forgotten by msg_expire.
create table tableos.message_key (
  sender text not null,
  id text not null,
  sent_at timestamptz not null default now(),
  primary key (sender, id)
);

-- The NOTIFY channel of a mailbox; a waiter LISTENs on it.
create function tableos.msg_channel(p_mailbox text) returns text
language sql immutable strict parallel safe as $$
  select 'tableos_msg_' || md5(p_mailbox)
$$;

-- Sends a batch of messages in one transaction. Row i goes to p_receivers[i]; rows that share
-- a (sender, id) are one multicast, sent once. Also deletes the acknowledged messages
-- (p_ack_receivers[j], p_ack_seqs[j]), so acks ride along with sends. Returns, per row, the
-- new seq, or null when the (sender, id) had been sent before.
create function tableos.msg_send(
  p_receivers text[], p_senders text[], p_topics text[], p_ids text[], p_corrs text[],
  p_bodies text[], p_ack_receivers text[], p_ack_seqs bigint[]
) returns table (ord integer, seq bigint)
-- Planning these statements afresh costs more than running them; reuse one plan.
language plpgsql set plan_cache_mode = force_generic_plan as $$
#variable_conflict use_column
declare
  v_bad text;
begin
  select r into v_bad from unnest(p_receivers) r
   where r is null or r !~ '^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$' limit 1;
  if found then
    raise exception 'invalid mailbox name %', coalesce(quote_literal(v_bad), 'NULL') using errcode = '22023';
  end if;
  -- The client checks first with a clearer message; this holds for direct SQL callers.
  if exists (select 1 from unnest(p_bodies) b where octet_length(b) > 262144) then
    raise exception 'message body over the limit of 262144 bytes' using errcode = '54000';
  end if;
  if p_ack_seqs is not null and cardinality(p_ack_seqs) > 0 then
    perform tableos.msg_ack(p_ack_receivers, p_ack_seqs);
  end if;
  -- In name order, so two batches creating the same new mailboxes cannot deadlock.
  insert into tableos.mailbox (name)
  select distinct r from unnest(p_receivers) r
   where not exists (select 1 from tableos.mailbox b where b.name = r)
   order by r
  on conflict do nothing;
  return query
  with rows as (
    -- Seqs are drawn in argument order, so a batch from one sender keeps its order.
    select u.*, nextval('tableos.message_seq') as seq
      from unnest(p_receivers, p_senders, p_topics, p_ids, p_corrs, p_bodies)
      with ordinality u(receiver, sender, topic, id, corr, body, ord)
  ), keys as (
    insert into tableos.message_key (sender, id)
    select distinct r.sender, r.id from rows r where r.id is not null
     order by r.sender, r.id
    on conflict do nothing
    returning sender, id
  ), ins as (
    insert into tableos.message (receiver, seq, sender, topic, id, corr, body)
    select r.receiver, r.seq, r.sender, coalesce(r.topic, ''), r.id, r.corr, r.body::jsonb
      from rows r
     where r.id is null or exists (select 1 from keys k where k.sender = r.sender and k.id = r.id)
    returning receiver, seq, topic, corr, body
  ), notified as materialized (
    -- RPC replies carry their body, so the caller waiting on one needs no further query.
    -- Other messages only wake the receiver: their empty payloads fold into one
    -- notification per receiver and transaction.
    select i.seq,
           pg_notify(tableos.msg_channel(i.receiver),
             case when i.topic <> 'rpc.reply' then ''
                  when octet_length(i.body::text) < 7000
                  then json_build_object('seq', i.seq, 'corr', i.corr, 'body', i.body)::text
                  else json_build_object('seq', i.seq)::text end) as n
      from ins i
  )
  select r.ord::integer, n.seq
    from rows r left join notified n on n.seq = r.seq
   order by r.ord;
end;
$$;

-- Creates a mailbox, or changes its retention when it exists.
create function tableos.msg_create(p_name text, p_retention_ms bigint) returns tableos.mailbox
language plpgsql as $$
declare
  v_row tableos.mailbox;
begin
  if p_name is null or p_name !~ '^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$' then
    raise exception 'invalid mailbox name %', coalesce(quote_literal(p_name), 'NULL') using errcode = '22023';
  end if;
  if p_retention_ms is not null and p_retention_ms <= 0 then
    raise exception 'retention must be a positive number of milliseconds, got %', p_retention_ms
      using errcode = '22023';
  end if;
  insert into tableos.mailbox as b (name, retention)
  values (p_name, coalesce(make_interval(secs => p_retention_ms / 1000.0), interval '7 days'))
  on conflict (name) do update
    set retention = coalesce(make_interval(secs => p_retention_ms / 1000.0), b.retention)
  returning * into v_row;
  return v_row;
end;
$$;

-- Locks the oldest messages (of one topic, or any when null) in any of the given mailboxes
-- for the calling transaction, skipping ones locked or leased by others. Whoever commits their
-- deletion owns them; if the caller dies, its transaction ends and they are there for the next.
create function tableos.msg_lock(p_mailboxes text[], p_topic text, p_limit integer)
returns setof tableos.message
language plpgsql set plan_cache_mode = force_generic_plan as $$
begin
  -- One statement per shape, so one mailbox is read in index order instead of sorted.
  if cardinality(p_mailboxes) = 1 and p_topic is null then
    return query
    select * from tableos.message m
     where m.receiver = p_mailboxes[1]
       and (m.claimed_until is null or m.claimed_until < clock_timestamp())
     order by m.seq limit p_limit
     for update skip locked;
  elsif cardinality(p_mailboxes) = 1 then
    return query
    select * from tableos.message m
     where m.receiver = p_mailboxes[1] and m.topic = p_topic
       and (m.claimed_until is null or m.claimed_until < clock_timestamp())
     order by m.seq limit p_limit
     for update skip locked;
  elsif p_topic is null then
    return query
    select * from tableos.message m
     where m.receiver = any(p_mailboxes)
       and (m.claimed_until is null or m.claimed_until < clock_timestamp())
     order by m.seq limit p_limit
     for update skip locked;
  else
    return query
    select * from tableos.message m
     where m.receiver = any(p_mailboxes) and m.topic = p_topic
       and (m.claimed_until is null or m.claimed_until < clock_timestamp())
     order by m.seq limit p_limit
     for update skip locked;
  end if;
end;
$$;

-- Takes messages for a batch of receive requests, one transaction for all. Request i asks for
-- up to p_limits[i] of the oldest messages in mailbox p_mailboxes[i] (of topic p_topics[i],
-- or any topic when null). With p_lease_ms[i] null they are consumed (deleted); otherwise
-- they are leased for that long and come back unless acknowledged. Messages under another
-- receiver's lease are skipped. A request whose mailbox does not exist gets one row with
-- missing = true.
create function tableos.msg_take(
  p_mailboxes text[], p_topics text[], p_limits integer[], p_lease_ms integer[]
) returns table (
  req integer, receiver text, seq bigint, sender text, topic text, id text, corr text,
  body jsonb, sent_at timestamptz, deliveries integer, missing boolean
)
language plpgsql set plan_cache_mode = force_generic_plan as $$
#variable_conflict use_column
declare
  i integer;
  v_seqs bigint[];
begin
  for i in 1 .. coalesce(cardinality(p_mailboxes), 0) loop
    select array_agg(l.seq) into v_seqs
      from tableos.msg_lock(array[p_mailboxes[i]], p_topics[i], p_limits[i]) l;
    if v_seqs is null then
      if not exists (select 1 from tableos.mailbox b where b.name = p_mailboxes[i]) then
        return query select i, p_mailboxes[i], null::bigint, null::text, null::text, null::text,
                            null::text, null::jsonb, null::timestamptz, null::integer, true;
      end if;
    elsif p_lease_ms[i] is null then
      return query
      delete from tableos.message m
       where m.receiver = p_mailboxes[i] and m.seq = any(v_seqs)
      returning i, m.receiver, m.seq, m.sender, m.topic, m.id, m.corr, m.body, m.sent_at,
                m.deliveries + 1, false;
    else
      return query
      update tableos.message m
         set claimed_until = clock_timestamp() + make_interval(secs => p_lease_ms[i] / 1000.0),
             deliveries = m.deliveries + 1
       where m.receiver = p_mailboxes[i] and m.seq = any(v_seqs)
      returning i, m.receiver, m.seq, m.sender, m.topic, m.id, m.corr, m.body, m.sent_at,
                m.deliveries, false;
    end if;
  end loop;
end;
$$;

-- Acknowledges (deletes) messages; returns how many were still there. One join for the
-- batch, pinned to a nested loop of primary-key probes so that each ack touches only its
-- receiver's partition whatever the planner guesses about the array.
create function tableos.msg_ack(p_receivers text[], p_seqs bigint[]) returns bigint
language plpgsql
set plan_cache_mode = force_generic_plan
set enable_hashjoin = off
set enable_mergejoin = off
set enable_seqscan = off
as $$
declare
  v_n bigint;
begin
  delete from tableos.message m
   using unnest(p_receivers, p_seqs) a(r, s)
   where m.receiver = a.r and m.seq = a.s;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- The oldest pending messages of a mailbox, without taking them.
create function tableos.msg_peek(p_mailbox text, p_topic text, p_limit integer)
returns setof tableos.message
language plpgsql stable as $$
begin
  return query
  select * from tableos.message m
   where m.receiver = p_mailbox and (p_topic is null or m.topic = p_topic)
   order by m.seq limit p_limit;
  if not found and not exists (select 1 from tableos.mailbox b where b.name = p_mailbox) then
    raise exception 'no mailbox named %', quote_literal(p_mailbox) using errcode = '42704';
  end if;
end;
$$;

-- Per mailbox: messages waiting, messages under a lease, the oldest one, how many expired.
create function tableos.msg_stats(p_mailbox text) returns table (
  mailbox text, pending bigint, leased bigint, oldest_at timestamptz, expired bigint,
  retention_s double precision, created_at timestamptz
)
language plpgsql stable as $$
#variable_conflict use_column
begin
  return query
  select b.name,
         count(m.seq) filter (where m.claimed_until is null or m.claimed_until < clock_timestamp()),
         count(m.seq) filter (where m.claimed_until >= clock_timestamp()),
         min(m.sent_at), b.expired, extract(epoch from b.retention)::double precision, b.created_at
    from tableos.mailbox b
    left join tableos.message m on m.receiver = b.name
   where p_mailbox is null or b.name = p_mailbox
   group by b.name
   order by b.name;
  if not found and p_mailbox is not null then
    raise exception 'no mailbox named %', quote_literal(p_mailbox) using errcode = '42704';
  end if;
end;
$$;

-- Removes messages older than their mailbox's retention and adds them to its expired
-- count, so nothing disappears uncounted; forgets idempotency keys older than a week.
create function tableos.msg_expire() returns table (mailbox text, expired bigint)
language plpgsql as $$
#variable_conflict use_column
begin
  return query
  with d as (
    delete from tableos.message m
     using tableos.mailbox b
     where m.receiver = b.name and m.sent_at < clock_timestamp() - b.retention
    returning m.receiver
  ), c as (
    select d.receiver, count(*) as n from d group by d.receiver
  )
  update tableos.mailbox b
     set expired = b.expired + c.n, last_expired_at = clock_timestamp()
    from c
   where b.name = c.receiver
  returning b.name, c.n;
  delete from tableos.message_key k where k.sent_at < clock_timestamp() - interval '7 days';
end;
$$;
