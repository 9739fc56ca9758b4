-- 0035_fs_batch: many operations in one call (concurrent creates grouped by the client,
-- tree import), and the views that `tableos fs query` runs over.

-- Batched data travels as one bytea with the items' lengths (-1 for none), item k's bytes
-- following item k-1's. Items are read with unnest: subscripting a text[] parameter in a
-- loop costs O(n) per access.

-- Creates many files in one transaction; each item succeeds or fails on its own (its own
-- savepoint), and a failing item gets its POSIX code.
create function tableos.fs_create_many(
  p_uid integer, p_gids integer[], p_paths text[], p_modes integer[], p_blob bytea,
  p_lens integer[], p_exclusive boolean
) returns table (i integer, ino bigint, errno text, message text)
language plpgsql as $$
declare
  r record;
  v_at integer := 1;
begin
  for r in select * from unnest(p_paths, p_modes, p_lens) with ordinality as x(path, mode, len, k)
  loop
    i := r.k;
    begin
      ino := tableos.fs_create(p_uid, p_gids, r.path, r.mode, p_exclusive,
        case when r.len >= 0 then substring(p_blob from v_at for r.len) end);
      errno := null;
      message := null;
    exception when sqlstate 'TF001' then
      get stacked diagnostics errno = pg_exception_detail, message = message_text;
      ino := null;
    end;
    v_at := v_at + greatest(coalesce(r.len, 0), 0);
    return next;
  end loop;
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
