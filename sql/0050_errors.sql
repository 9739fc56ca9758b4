-- 0050_errors: one way for every stored procedure to raise a TableOS error. All of them
-- raise SQLSTATE TF001 with the stable TableOS code (TABLEOS_<SERVICE>_<CONDITION>, the
-- `code` of the TypeScript error class) as DETAIL and a message meant for the user. The
-- TypeScript layer turns such an error into the class registered for its code.
-- The procedures below are the earlier ones with only their raise sites changed.

create function tableos.raise_error(p_code text, p_message text) returns void
language plpgsql as $$
begin
  raise exception using errcode = 'TF001', message = coalesce(p_message, p_code), detail = p_code;
end;
$$;

comment on function tableos.raise_error(text, text) is
  'Raises a TableOS error: SQLSTATE TF001, the stable code (e.g. TABLEOS_FS_ENOENT) as DETAIL.';


-- Kernel.
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
  insert into tableos.executor (id, host, pid, version, lease_until)
  values (p_id, p_host, p_pid, p_version, clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0))
  returning * into v_row;
  perform pg_notify('tableos_executor', json_build_object('id', p_id, 'status', 'alive')::text);
  return v_row;
end;
$$;

-- Workflows. wf_fork reports a taken new id itself instead of failing on the primary key.
create or replace function tableos.wf_require(p_id text) returns tableos.workflow
language plpgsql as $$
declare
  v tableos.workflow;
begin
  select * into v from tableos.workflow where id = p_id;
  if not found then
    perform tableos.raise_error('TABLEOS_WORKFLOW_NOT_FOUND', format('no workflow with id %s', to_json(p_id)));
  end if;
  return v;
end;
$$;

create or replace function tableos.wf_resume(p_id text) returns setof text
language plpgsql as $$
declare
  v tableos.workflow;
  v_ids text[];
begin
  v := tableos.wf_require(p_id);
  if v.status = 'success' then
    perform tableos.raise_error('TABLEOS_WORKFLOW_FINISHED',
      format('workflow %s already finished successfully; fork it to run it again', quote_literal(p_id)));
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

create or replace function tableos.wf_fork(p_id text, p_from integer, p_new_id text) returns text
language plpgsql as $$
declare
  v tableos.workflow;
begin
  v := tableos.wf_require(p_id);
  if p_from is null or p_from < 0 then
    perform tableos.raise_error('TABLEOS_WORKFLOW_BAD_ARGUMENT',
      format('fork position must be 0 or more, got %s', coalesce(p_from::text, 'NULL')));
  end if;
  insert into tableos.workflow (id, name, status, input, forked_from, max_recovery_attempts)
  values (p_new_id, v.name, 'pending', v.input, p_id, v.max_recovery_attempts)
  on conflict (id) do nothing;
  if not found then
    perform tableos.raise_error('TABLEOS_WORKFLOW_BAD_ARGUMENT', 'a workflow with that id already exists');
  end if;
  insert into tableos.workflow_call (workflow_id, seq, kind, name, output, error, started_at, ended_at)
  select p_new_id, c.seq, c.kind, c.name, c.output, c.error, c.started_at, c.ended_at
    from tableos.workflow_call c where c.workflow_id = p_id and c.seq < p_from;
  perform tableos.wf_announce(array[p_new_id], array['pending']);
  return p_new_id;
end;
$$;

-- Messaging.
create or replace function tableos.msg_send(
  p_receivers text[], p_senders text[], p_topics text[], p_ids text[], p_corrs text[],
  p_bodies text[], p_ack_receivers text[], p_ack_seqs bigint[]
) returns table (ord integer, seq bigint)
-- Planning these statements afresh costs more than running them; reuse one plan.
language plpgsql set plan_cache_mode = force_generic_plan as $$
#variable_conflict use_column
declare
  v_bad text;
  v_big integer;
begin
  select r into v_bad from unnest(p_receivers) r
   where r is null or r !~ '^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$' limit 1;
  if found then
    perform tableos.raise_error('TABLEOS_MESSAGING_BAD_MAILBOX', format('invalid mailbox name %s: use 1-128 characters, letters, digits and . _ : @ / -, starting with a letter or digit', coalesce(to_json(v_bad)::text, 'of type null')));
  end if;
  -- The client checks first with a clearer message; this holds for direct SQL callers.
  select max(octet_length(b)) into v_big from unnest(p_bodies) b;
  if v_big > 262144 then
    perform tableos.raise_error('TABLEOS_MESSAGING_TOO_LARGE',
      format('message is %s bytes as JSON, over the limit of 262144 bytes; store large data elsewhere (e.g. a file) and send a reference', v_big));
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

create or replace function tableos.msg_create(p_name text, p_retention_ms bigint) returns tableos.mailbox
language plpgsql as $$
declare
  v_row tableos.mailbox;
begin
  if p_name is null or p_name !~ '^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$' then
    perform tableos.raise_error('TABLEOS_MESSAGING_BAD_MAILBOX', format('invalid mailbox name %s: use 1-128 characters, letters, digits and . _ : @ / -, starting with a letter or digit', coalesce(to_json(p_name)::text, 'of type null')));
  end if;
  if p_retention_ms is not null and p_retention_ms <= 0 then
    perform tableos.raise_error('TABLEOS_MESSAGING_BAD_OPTION',
      format('retentionMs must be a positive number of milliseconds, got %s', p_retention_ms));
  end if;
  insert into tableos.mailbox as b (name, retention)
  values (p_name, coalesce(make_interval(secs => p_retention_ms / 1000.0), interval '7 days'))
  on conflict (name) do update
    set retention = coalesce(make_interval(secs => p_retention_ms / 1000.0), b.retention)
  returning * into v_row;
  return v_row;
end;
$$;

create or replace function tableos.msg_peek(p_mailbox text, p_topic text, p_limit integer)
returns setof tableos.message
language plpgsql stable as $$
begin
  return query
  select * from tableos.message m
   where m.receiver = p_mailbox and (p_topic is null or m.topic = p_topic)
   order by m.seq limit p_limit;
  if not found and not exists (select 1 from tableos.mailbox b where b.name = p_mailbox) then
    perform tableos.raise_error('TABLEOS_MESSAGING_NO_MAILBOX',
      format('no mailbox named %s; a mailbox exists once something was sent to it or it was created with createMailbox', to_json(p_mailbox)));
  end if;
end;
$$;

create or replace function tableos.msg_stats(p_mailbox text) returns table (
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
    perform tableos.raise_error('TABLEOS_MESSAGING_NO_MAILBOX',
      format('no mailbox named %s; a mailbox exists once something was sent to it or it was created with createMailbox', to_json(p_mailbox)));
  end if;
end;
$$;

-- File system: the code is TABLEOS_FS_<errno>; batch operations report the bare errno per item.
create or replace function tableos.fs_fail(p_errno text, p_msg text, p_path text default null) returns void
language plpgsql as $$
begin
  perform tableos.raise_error('TABLEOS_FS_' || p_errno,
    p_errno || ': ' || p_msg || coalesce(', ''' || p_path || '''', ''));
end;
$$;

create or replace function tableos.fs_stat_many(p_uid integer, p_gids integer[], p_paths text[], p_follow boolean)
returns table (
  i integer, errno text, message text, ino bigint, kind "char", mode integer, uid integer,
  gid integer, size bigint, nlink integer, atime timestamptz, mtime timestamptz,
  ctime timestamptz, target text
)
language plpgsql stable as $$
declare
  r record;
  l record;
  v_ok boolean;
  v_dirs text[] := '{}';
  v_inos bigint[] := '{}';
  v_errs text[] := '{}';
  v_msgs text[] := '{}';
  v_e text;
  v_m text;
begin
  for r in
    select distinct tableos.fs_plain_dir(x.path) as dir
      from unnest(p_paths) x(path) where tableos.fs_plain_dir(x.path) is not null
  loop
    begin
      select * into l from tableos.fs_lookup(p_uid, p_gids, r.dir, true, false);
      select tableos.fs_may(p_uid, p_gids, d.uid, d.gid, d.mode, 1) into v_ok
        from tableos.fs_inode d where d.ino = l.ino;
      if l.kind <> 'd' then
        perform tableos.fs_fail('ENOTDIR', 'not a directory', r.dir);
      elsif not v_ok then
        perform tableos.fs_fail('EACCES', 'permission denied', r.dir);
      end if;
      v_dirs := v_dirs || r.dir;
      v_inos := v_inos || l.ino;
      v_errs := v_errs || null::text;
      v_msgs := v_msgs || null::text;
    exception when sqlstate 'TF001' then
      get stacked diagnostics v_e = pg_exception_detail, v_m = message_text;
      v_e := replace(v_e, 'TABLEOS_FS_', '');
      v_dirs := v_dirs || r.dir;
      v_inos := v_inos || null::bigint;
      v_errs := v_errs || v_e;
      v_msgs := v_msgs || v_m;
    end;
  end loop;
  for r in
    select x.k::integer as k, x.path, d.dir, d.err, d.msg, e.kind as ekind, n.ino, n.kind,
           n.mode, n.uid, n.gid, n.size, n.nlink, n.atime, n.mtime, n.ctime, sl.target
      from (select u.k, u.path, tableos.fs_plain_dir(u.path) as dir,
                   regexp_replace(u.path, '^.*/', '') as name
              from unnest(p_paths) with ordinality as u(path, k)
            offset 0) x -- computed once per item, not once per joined pair
      left join unnest(v_dirs, v_inos, v_errs, v_msgs) as d(dir, ino, err, msg)
        on d.dir = x.dir
      left join tableos.fs_dirent e on e.parent = d.ino and e.name = x.name
      left join tableos.fs_inode n on n.ino = e.ino
      left join tableos.fs_symlink sl on sl.ino = e.ino
     order by x.k
  loop
    i := r.k;
    errno := null;
    message := null;
    if r.dir is null or (r.ekind = 'l' and p_follow) then
      begin
        select * into l from tableos.fs_lookup(p_uid, p_gids, r.path, p_follow, false);
        select * into ino, kind, mode, uid, gid, size, nlink, atime, mtime, ctime, target
          from tableos.fs_stat_ino(l.ino);
      exception when sqlstate 'TF001' then
        get stacked diagnostics errno = pg_exception_detail, message = message_text;
        errno := replace(errno, 'TABLEOS_FS_', '');
      end;
    elsif r.err is not null then
      errno := r.err;
      message := r.msg;
    elsif r.ekind is null then
      errno := 'ENOENT';
      message := 'ENOENT: no such file or directory, ''' || r.path || '''';
    else
      ino := r.ino;
      kind := r.kind;
      mode := r.mode;
      uid := r.uid;
      gid := r.gid;
      size := r.size;
      nlink := r.nlink;
      atime := r.atime;
      mtime := r.mtime;
      ctime := r.ctime;
      target := r.target;
    end if;
    if errno is not null then
      ino := null;
    end if;
    return next;
  end loop;
end;
$$;

create or replace function tableos.fs_create_many(
  p_uid integer, p_gids integer[], p_paths text[], p_modes integer[], p_blob bytea,
  p_lens integer[], p_exclusive boolean
) returns table (i integer, ino bigint, errno text, message text)
language plpgsql as $$
declare
  r record;
  l record;
  v_dir tableos.fs_inode;
  v_bs integer := tableos.fs_block_size();
  v_dirs text[] := '{}';
  v_real text[] := '{}';
  v_inos bigint[] := '{}';
  v_gids integer[] := '{}';
  v_errs text[] := '{}';
  v_msgs text[] := '{}';
  v_k integer[];
  v_ino bigint[];
  v_errno text[];
  v_message text[];
  v_slow boolean[];
  v_at integer[];
  v_e text;
  v_m text;
  v_j integer;
begin
  perform pg_advisory_xact_lock_shared(7365235046436081507); -- paths are stored below: see fs_rename
  -- Each distinct directory of a plain path once: resolve, check, lock.
  for r in
    select distinct tableos.fs_plain_dir(x.path) as dir
      from unnest(p_paths) x(path) where tableos.fs_plain_dir(x.path) is not null
  loop
    begin
      select * into l from tableos.fs_lookup(p_uid, p_gids, r.dir, true, false);
      select * into v_dir from tableos.fs_inode d where d.ino = l.ino for no key update;
      if not found then -- removed while we looked it up
        perform tableos.fs_fail('ENOENT', 'no such file or directory', r.dir);
      elsif v_dir.kind <> 'd' then
        perform tableos.fs_fail('ENOTDIR', 'not a directory', r.dir);
      elsif not tableos.fs_may(p_uid, p_gids, v_dir.uid, v_dir.gid, v_dir.mode, 3) then
        perform tableos.fs_fail('EACCES', 'permission denied', r.dir);
      end if;
      v_dirs := v_dirs || r.dir;
      -- The directory's own path: the caller's may have gone through a symlink.
      v_real := v_real || tableos.fs_path_of(l.ino);
      v_inos := v_inos || l.ino;
      v_gids := v_gids || case when v_dir.mode & 1024 <> 0 then v_dir.gid else coalesce(p_gids[1], 0) end;
      v_errs := v_errs || null::text;
      v_msgs := v_msgs || null::text;
    exception when sqlstate 'TF001' then
      get stacked diagnostics v_e = pg_exception_detail, v_m = message_text;
      v_e := replace(v_e, 'TABLEOS_FS_', '');
      v_dirs := v_dirs || r.dir;
      v_real := v_real || null::text;
      v_inos := v_inos || null::bigint;
      v_gids := v_gids || null::integer;
      v_errs := v_errs || v_e;
      v_msgs := v_msgs || v_m;
    end;
  end loop;

  with items as (
    select x.k::integer as k, x.path, x.mode, x.len,
           (sum(greatest(coalesce(x.len, 0), 0)) over (order by x.k)
              - greatest(coalesce(x.len, 0), 0) + 1)::integer as at,
           d.dir, d.real, d.ino as parent, d.gid, d.err, d.msg
      from (select u.*, tableos.fs_plain_dir(u.path) as pdir
              from unnest(p_paths, p_modes, p_lens) with ordinality as u(path, mode, len, k)
            offset 0) x -- computed once per item, not once per joined pair
      left join unnest(v_dirs, v_real, v_inos, v_gids, v_errs, v_msgs)
             as d(dir, real, ino, gid, err, msg)
        on d.dir = x.pdir
  ), fresh as materialized (
    select items.*, nextval('tableos.fs_ino_seq') as new_ino from items
     where items.parent is not null and items.mode between 0 and 4095
  ), ins as (
    insert into tableos.fs_dirent (parent, name, ino, kind, path)
    select f.parent, regexp_replace(f.path, '^.*/', ''), f.new_ino, 'f',
           tableos.fs_join(f.real, regexp_replace(f.path, '^.*/', ''))
      from fresh f order by f.k
    on conflict do nothing
    returning fs_dirent.ino
  ), inodes as (
    insert into tableos.fs_inode (ino, kind, mode, uid, gid, size, nlink)
    select f.new_ino, 'f', f.mode, p_uid, f.gid, greatest(coalesce(f.len, 0), 0), 1
      from fresh f join ins on ins.ino = f.new_ino
  ), blocks as (
    insert into tableos.fs_block (ino, blkno, data)
    select f.new_ino, g,
           substring(p_blob from f.at + (g * v_bs)::integer for least(v_bs, f.len - g * v_bs)::integer)
      from fresh f join ins on ins.ino = f.new_ino
      cross join lateral generate_series(0, (f.len - 1) / v_bs) g
     where f.len > 0
  )
  select array_agg(it.k order by it.k),
         array_agg(ins.ino order by it.k),
         array_agg(case
                     when it.err is not null then it.err
                     when it.parent is not null and not coalesce(it.mode between 0 and 4095, false) then 'EINVAL'
                     when f.new_ino is not null and ins.ino is null and p_exclusive then 'EEXIST'
                   end order by it.k),
         array_agg(case
                     when it.err is not null then it.msg
                     when it.parent is not null and not coalesce(it.mode between 0 and 4095, false)
                       then 'EINVAL: mode must be between 0 and 07777, ''' || it.path || ''''
                     when f.new_ino is not null and ins.ino is null and p_exclusive
                       then 'EEXIST: file exists, ''' || it.path || ''''
                   end order by it.k),
         array_agg(it.dir is null or (f.new_ino is not null and ins.ino is null and not p_exclusive)
                   order by it.k),
         array_agg(it.at order by it.k)
    into v_k, v_ino, v_errno, v_message, v_slow, v_at
    from items it
    left join fresh f on f.k = it.k
    left join ins on ins.ino = f.new_ino;

  -- Directories that received entries change their mtime (once per transaction).
  update tableos.fs_inode d set mtime = now(), ctime = now()
   where d.ino in (select e.parent from tableos.fs_dirent e where e.ino = any (v_ino))
     and d.mtime <> now();
  for v_j in 1 .. coalesce(cardinality(v_k), 0) loop
    if v_slow[v_j] then
      begin
        v_ino[v_j] := tableos.fs_create(p_uid, p_gids, p_paths[v_j], p_modes[v_j], p_exclusive,
          case when p_lens[v_j] >= 0 then substring(p_blob from v_at[v_j] for p_lens[v_j]) end);
      exception when sqlstate 'TF001' then
        get stacked diagnostics v_e = pg_exception_detail, v_m = message_text;
        v_errno[v_j] := replace(v_e, 'TABLEOS_FS_', '');
        v_message[v_j] := v_m;
      end;
    end if;
  end loop;
  return query select x.k, case when x.e is null then x.ino end, x.e, x.m
                 from unnest(v_k, v_ino, v_errno, v_message) as x(k, ino, e, m);
end;
$$;

-- Scheduler.
create or replace function tableos.sched_fail(p_code text, p_message text) returns void
language plpgsql as $$
begin
  perform tableos.raise_error(p_code, p_message);
end;
$$;

create or replace function tableos.sched_dispatch(p_partition integer, p_executor text)
returns setof tableos.task
language plpgsql as $$
declare
  v_workers tableos.worker[];
  v_ids text[];
  v_free integer;
  v_q tableos.queue;
  v_allow integer;
  v_sql text;
  v_exec jsonb;
  v_t tableos.task;
  v_cands tableos.worker[];
  v_wid text;
  v_i integer;
  v_pick bigint[];
  v_single boolean;
  v_task_ids bigint[] := '{}';
  v_task_workers text[] := '{}';
  v_task_execs text[] := '{}';
  v_n integer;
  v_now timestamptz := clock_timestamp();
begin
  select array_agg(w order by w.seq), coalesce(sum(w.capacity - w.running), 0)
    into v_workers, v_free
    from tableos.worker w
   where w.partition = p_partition and w.status = 'alive'
     -- Not on an executor already known dead; its slots await reclaim.
     and exists (select 1 from tableos.executor e where e.id = w.executor_id and e.status = 'alive');
  if v_free <= 0 then
    return;
  end if;
  v_ids := array(select (w).id from unnest(v_workers) w);
  v_single := cardinality(v_workers) = 1;

  for v_q in
    select q.* from tableos.queue q
     where q.partition = p_partition and not q.paused
       and exists (select 1 from tableos.task t where t.queue = q.name and t.state = 'queued' and t.run_at <= v_now)
     order by q.name
  loop
    exit when v_free <= 0;
    v_allow := v_free;
    if v_q.concurrency is not null then
      v_allow := least(v_allow, v_q.concurrency - v_q.running);
    end if;
    if v_q.rate_limit is not null then
      if v_q.rate_window_start + make_interval(secs => v_q.rate_period_ms / 1000.0) <= v_now then
        v_q.rate_window_start := v_now;
        v_q.rate_count := 0;
      end if;
      v_allow := least(v_allow, v_q.rate_limit - v_q.rate_count);
      if v_allow <= 0 then
        -- Wake executors when the window opens rather than at the next poll.
        perform pg_notify('tableos_sched', '@' || (extract(epoch from
          v_q.rate_window_start + make_interval(secs => v_q.rate_period_ms / 1000.0)) * 1000)::bigint);
      end if;
    end if;
    continue when v_allow <= 0;

    v_exec := '{}';
    if v_q.per_executor is not null then
      select coalesce(jsonb_object_agg(executor_id, n), '{}') into v_exec
        from (select executor_id, count(*) n from tableos.task
               where queue = v_q.name and state in ('assigned', 'running') group by 1) x;
    end if;
    select format('select %s($1, $2)', p.fn) into v_sql from tableos.sched_policy p where p.name = v_q.policy;

    -- Ready tasks in order, with a lookahead of 64 past the allowance so that tasks that fit
    -- nowhere (memory, kind) do not hold back the ones behind them. With a per-key limit, round-robin across keys, each key up to its
    -- remaining allowance, so a tenant with a deep backlog cannot hold the queue.
    if v_q.per_key is null then
      v_pick := array(
        select t.id from tableos.task t
         where t.queue = v_q.name and t.state = 'queued' and t.run_at <= v_now
         order by t.priority desc, t.id
         limit v_allow + 64
         for update skip locked);
    else
      v_pick := array(
        with running as (
          select coalesce(partition_key, '') k, count(*) n from tableos.task
           where queue = v_q.name and state in ('assigned', 'running') group by 1
        ), keys as (
          select distinct coalesce(partition_key, '') k from tableos.task
           where queue = v_q.name and state = 'queued' and run_at <= v_now
        ), picked as (
          select c.id, c.priority,
                 row_number() over (partition by keys.k order by c.priority desc, c.id) rn
            from keys
            left join running r on r.k = keys.k
            cross join lateral (
              select t.id, t.priority from tableos.task t
               where t.queue = v_q.name and t.state = 'queued' and t.run_at <= v_now
                 and coalesce(t.partition_key, '') = keys.k
               order by t.priority desc, t.id
               limit greatest(0, v_q.per_key - coalesce(r.n, 0))
               for update skip locked
            ) c
        )
        select id from picked order by rn, priority desc, id limit v_allow + 64);
    end if;

    v_n := 0;
    for v_t in
      select t.* from unnest(v_pick) with ordinality p(id, o)
        join tableos.task t on t.id = p.id
       order by p.o
    loop
      if v_single and v_q.policy in ('fifo', 'least_loaded', 'locality') then
        -- One worker: every built-in policy picks it when it qualifies, so skip the call.
        continue when not (v_workers[1].running < v_workers[1].capacity
          and (v_workers[1].mem_free_mb is null or v_workers[1].mem_free_mb >= v_t.memory_mb)
          and (v_workers[1].kinds is null or v_t.kind = any (v_workers[1].kinds))
          and (v_q.per_executor is null
               or coalesce((v_exec ->> v_workers[1].executor_id)::integer, 0) < v_q.per_executor));
        v_wid := v_workers[1].id;
      else
        select array_agg(w order by w.seq) into v_cands
          from unnest(v_workers) w
         where w.running < w.capacity
           and (w.mem_free_mb is null or w.mem_free_mb >= v_t.memory_mb)
           and (w.kinds is null or v_t.kind = any (w.kinds))
           and (v_q.per_executor is null or coalesce((v_exec ->> w.executor_id)::integer, 0) < v_q.per_executor);
        continue when v_cands is null;
        -- Built-in policies are called statically (plan cached); others through EXECUTE.
        case v_q.policy
          when 'fifo' then v_wid := tableos.sched_policy_fifo(v_t, v_cands);
          when 'least_loaded' then v_wid := tableos.sched_policy_least_loaded(v_t, v_cands);
          when 'locality' then v_wid := tableos.sched_policy_locality(v_t, v_cands);
          else execute v_sql into v_wid using v_t, v_cands;
        end case;
        continue when v_wid is null;
      end if;
      v_i := array_position(v_ids, v_wid);
      if v_i is null or v_workers[v_i].running >= v_workers[v_i].capacity
         or v_workers[v_i].mem_free_mb < v_t.memory_mb then
        perform tableos.raise_error('TABLEOS_SCHED_BAD_POLICY_CHOICE',
          format('policy %s chose worker %s which is not a candidate for task %s; a policy must return one of the candidates it was given, or null',
                 v_q.policy, coalesce(v_wid::text, 'NULL'), v_t.id));
      end if;
      v_workers[v_i].running := v_workers[v_i].running + 1;
      v_workers[v_i].mem_free_mb := v_workers[v_i].mem_free_mb - v_t.memory_mb;
      if v_q.per_executor is not null then
        v_exec := jsonb_set(v_exec, array[v_workers[v_i].executor_id],
          to_jsonb(coalesce((v_exec ->> v_workers[v_i].executor_id)::integer, 0) + 1));
      end if;
      v_task_ids := v_task_ids || v_t.id;
      v_task_workers := v_task_workers || v_wid;
      v_task_execs := v_task_execs || v_workers[v_i].executor_id;
      v_free := v_free - 1;
      v_n := v_n + 1;
      exit when v_free <= 0 or v_n >= v_allow;
    end loop;

    if v_n > 0 then
      update tableos.queue
         set running = running + v_n,
             rate_window_start = v_q.rate_window_start,
             rate_count = v_q.rate_count + v_n
       where name = v_q.name;
    end if;
  end loop;

  if cardinality(v_task_ids) = 0 then
    return;
  end if;

  update tableos.worker w
     set running = x.running, mem_free_mb = x.mem_free_mb
    from unnest(v_workers) x
   where w.id = x.id and (w.running, w.mem_free_mb) is distinct from (x.running, x.mem_free_mb);

  perform pg_notify('tableos_sched', e)
     from (select distinct e from unnest(v_task_execs) e
            where p_executor is null or e <> p_executor) x;

  return query
    with u as (
      update tableos.task t
         set state = case when a.e = p_executor then 'running' else 'assigned' end,
             worker_id = a.w,
             executor_id = a.e,
             attempts = t.attempts + 1,
             started_at = v_now
        from unnest(v_task_ids, v_task_workers, v_task_execs) a(id, w, e)
       where t.id = a.id
      returning t.*
    )
    select * from u where u.state = 'running';
end;
$$;
