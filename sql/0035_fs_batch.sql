-- 0035_fs_batch: many operations in one call (concurrent creates grouped by the client,
-- tree import), and the views that `tableos fs query` runs over.

-- Batched data travels as one bytea with the items' lengths (-1 for none), item k's bytes
-- following item k-1's. Items are read with unnest: subscripting a text[] parameter in a
-- loop costs O(n) per access.

-- Creates many files in one transaction; each item succeeds or fails on its own and a
-- failing item gets its POSIX code. Items with plain paths ('/a/b/name', no '.', '..' or
-- over-long components) take a set-based path: each distinct directory is resolved,
-- checked and locked once, then entries, inodes and blocks go in with one statement.
-- Everything else (and, without p_exclusive, names that exist) goes through fs_create one
-- by one, each in its own savepoint.
create function tableos.fs_create_many(
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
        v_errno[v_j] := v_e;
        v_message[v_j] := v_m;
      end;
    end if;
  end loop;
  return query select x.k, case when x.e is null then x.ino end, x.e, x.m
                 from unnest(v_k, v_ino, v_errno, v_message) as x(k, ino, e, m);
end;
$$;

-- Imports a batch of entries (parents before children), all or nothing: 'd' directories
-- (existing ones are kept), 'f' files (replaced), 'l' symlinks (replaced). Sets modes and
-- modification times as given. Returns the number of entries written.
create function tableos.fs_put_many(
  p_uid integer, p_gids integer[], p_kinds text[], p_paths text[], p_modes integer[],
  p_mtimes timestamptz[], p_blob bytea, p_lens integer[], p_targets text[]
) returns integer
language plpgsql as $$
declare
  r record;
  v_at integer := 1;
  v_n integer := 0;
  v_ino bigint;
  l record;
begin
  for r in
    select * from unnest(p_kinds, p_paths, p_modes, p_mtimes, p_lens, p_targets)
      as x(kind, path, mode, mtime, len, target)
  loop
    v_n := v_n + 1;
    if r.kind = 'd' then
      v_ino := tableos.fs_mkdir(p_uid, p_gids, r.path, r.mode, true);
      update tableos.fs_inode i set mode = r.mode where i.ino = v_ino and i.mode <> r.mode;
    elsif r.kind = 'f' then
      v_ino := tableos.fs_create(p_uid, p_gids, r.path, r.mode, false,
        case when r.len >= 0 then substring(p_blob from v_at for r.len) end);
      update tableos.fs_inode i set mtime = coalesce(r.mtime, i.mtime), mode = r.mode
       where i.ino = v_ino;
    elsif r.kind = 'l' then
      select * into l from tableos.fs_lookup(p_uid, p_gids, r.path, false, true);
      if l.ino is not null and l.kind <> 'd' then
        perform tableos.fs_unlink(p_uid, p_gids, r.path);
      end if;
      v_ino := tableos.fs_symlink(p_uid, p_gids, r.target, r.path);
    else
      perform tableos.fs_fail('EINVAL', 'entry kind must be d, f or l', r.path);
    end if;
    v_at := v_at + greatest(coalesce(r.len, 0), 0);
  end loop;
  return v_n;
end;
$$;

create function tableos.fs_mode_string(p_kind "char", p_mode integer) returns text
language sql immutable parallel safe as $$
  select case p_kind when 'd' then 'd' when 'l' then 'l' else '-' end
    || case when p_mode & 256 <> 0 then 'r' else '-' end
    || case when p_mode & 128 <> 0 then 'w' else '-' end
    || case when p_mode & 2048 <> 0 then case when p_mode & 64 <> 0 then 's' else 'S' end
            when p_mode & 64 <> 0 then 'x' else '-' end
    || case when p_mode & 32 <> 0 then 'r' else '-' end
    || case when p_mode & 16 <> 0 then 'w' else '-' end
    || case when p_mode & 1024 <> 0 then case when p_mode & 8 <> 0 then 's' else 'S' end
            when p_mode & 8 <> 0 then 'x' else '-' end
    || case when p_mode & 4 <> 0 then 'r' else '-' end
    || case when p_mode & 2 <> 0 then 'w' else '-' end
    || case when p_mode & 512 <> 0 then case when p_mode & 1 <> 0 then 't' else 'T' end
            when p_mode & 1 <> 0 then 'x' else '-' end
$$;

-- Every directory entry with its full path and attributes. path and type are plain columns
-- with statistics and indexes, so "under /srv" and "files only" are estimated well and
-- a top-N by size walks the size index and stops.
create view tableos.fs_files as
select d.path,
       d.name::text as name,
       d.kind as type,
       i.size,
       i.uid,
       i.gid,
       i.mode,
       tableos.fs_mode_string(i.kind, i.mode) as perms,
       i.nlink,
       i.atime,
       i.mtime,
       i.ctime,
       i.ino,
       d.parent as dir_ino,
       s.target
  from tableos.fs_dirent d
  join tableos.fs_inode i on i.ino = d.ino
  left join tableos.fs_symlink s on s.ino = d.ino;

comment on view tableos.fs_files is
  'One row per directory entry: full path, name, type (f file, d directory, l symlink), size, owner uid and gid, mode, times.';

-- Directories with the count and total size of the files directly in them.
create view tableos.fs_dirs as
select coalesce(d.path, '/') as path,
       i.ino,
       i.uid,
       i.gid,
       i.mode,
       i.mtime,
       (select count(*) from tableos.fs_dirent c where c.parent = i.ino) as entries,
       (select coalesce(sum(f.size), 0) from tableos.fs_dirent c
          join tableos.fs_inode f on f.ino = c.ino where c.parent = i.ino and c.kind = 'f') as file_bytes
  from tableos.fs_inode i
  left join tableos.fs_dirent d on d.ino = i.ino and d.kind = 'd'
 where i.kind = 'd';

comment on view tableos.fs_dirs is
  'One row per directory: full path, owner, entries and bytes of the files directly inside.';
