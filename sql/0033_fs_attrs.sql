-- 0033_fs_attrs: stat, readdir, chmod, chown, utimes.

create type tableos.fs_stat_row as (
  ino bigint,
  kind "char",
  mode integer,
  uid integer,
  gid integer,
  size bigint,
  nlink integer,
  atime timestamptz,
  mtime timestamptz,
  ctime timestamptz,
  target text
);

create function tableos.fs_stat_ino(p_ino bigint) returns tableos.fs_stat_row
language sql stable as $$
  select i.ino, i.kind, i.mode, i.uid, i.gid, i.size, i.nlink, i.atime, i.mtime, i.ctime, s.target
    from tableos.fs_inode i left join tableos.fs_symlink s on s.ino = i.ino
   where i.ino = p_ino
$$;

-- stat (p_follow) or lstat of one path.
create function tableos.fs_stat(p_uid integer, p_gids integer[], p_path text, p_follow boolean)
returns setof tableos.fs_stat_row
language plpgsql stable as $$
declare
  l record;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, p_follow, false);
  return next tableos.fs_stat_ino(l.ino);
end;
$$;

-- stat of many paths in one call; a failing path gets its POSIX code instead of a row.
-- Plain paths ('/a/b/name') resolve each distinct directory once and read all entries with
-- one join; other paths, and symlinks to follow, resolve one by one.
create function tableos.fs_stat_many(p_uid integer, p_gids integer[], p_paths text[], p_follow boolean)
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

-- Entries of one directory (needs read permission on it).
create function tableos.fs_readdir(p_uid integer, p_gids integer[], p_path text)
returns table (name text, ino bigint, kind "char")
language plpgsql stable as $$
declare
  l record;
  v tableos.fs_inode;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, true, false);
  select * into v from tableos.fs_inode i where i.ino = l.ino;
  if v.kind <> 'd' then
    perform tableos.fs_fail('ENOTDIR', 'not a directory', p_path);
  elsif not tableos.fs_may(p_uid, p_gids, v.uid, v.gid, v.mode, 4) then
    perform tableos.fs_fail('EACCES', 'permission denied', p_path);
  end if;
  return query select d.name::text, d.ino, d.kind from tableos.fs_dirent d
                where d.parent = l.ino order by d.name;
end;
$$;

-- The inode a caller owns (or root), for attribute changes; locked.
create function tableos.fs_owned(p_uid integer, p_gids integer[], p_path text, p_follow boolean)
returns tableos.fs_inode
language plpgsql as $$
declare
  l record;
  v tableos.fs_inode;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, p_follow, false);
  select * into v from tableos.fs_inode i where i.ino = l.ino for update;
  if not found then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  elsif p_uid <> 0 and p_uid <> v.uid then
    perform tableos.fs_fail('EPERM', 'operation not permitted (not the owner)', p_path);
  end if;
  return v;
end;
$$;

create function tableos.fs_chmod(p_uid integer, p_gids integer[], p_path text, p_mode integer)
returns void
language plpgsql as $$
declare
  v tableos.fs_inode := tableos.fs_owned(p_uid, p_gids, p_path, true);
begin
  if p_mode is null or p_mode < 0 or p_mode > 4095 then
    perform tableos.fs_fail('EINVAL', 'mode must be between 0 and 07777', p_path);
  end if;
  update tableos.fs_inode i set mode = p_mode, ctime = now() where i.ino = v.ino;
end;
$$;

-- Changes owner and/or group (null keeps one). Only root gives files away; an owner may
-- change the group to one of its own groups.
create function tableos.fs_chown(
  p_uid integer, p_gids integer[], p_path text, p_owner integer, p_group integer, p_follow boolean
) returns void
language plpgsql as $$
declare
  v tableos.fs_inode := tableos.fs_owned(p_uid, p_gids, p_path, p_follow);
begin
  if p_owner < 0 or p_group < 0 then
    perform tableos.fs_fail('EINVAL', 'uid and gid must be non-negative', p_path);
  end if;
  if p_uid <> 0 and ((p_owner is not null and p_owner <> v.uid)
                     or (p_group is not null and not p_group = any (p_gids))) then
    perform tableos.fs_fail('EPERM', 'operation not permitted', p_path);
  end if;
  update tableos.fs_inode i
     set uid = coalesce(p_owner, i.uid), gid = coalesce(p_group, i.gid), ctime = now()
   where i.ino = v.ino;
end;
$$;

create function tableos.fs_utimes(
  p_uid integer, p_gids integer[], p_path text, p_atime timestamptz, p_mtime timestamptz
) returns void
language plpgsql as $$
declare
  v tableos.fs_inode := tableos.fs_owned(p_uid, p_gids, p_path, true);
begin
  update tableos.fs_inode i
     set atime = coalesce(p_atime, now()), mtime = coalesce(p_mtime, now()), ctime = now()
   where i.ino = v.ino;
end;
$$;
