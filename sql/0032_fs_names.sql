-- 0032_fs_names: directories, links, removal, rename, attributes and stat.

-- Creates a directory; with p_parents, missing ancestors too and an existing directory is fine.
create function tableos.fs_mkdir(
  p_uid integer, p_gids integer[], p_path text, p_mode integer, p_parents boolean
) returns bigint
language plpgsql as $$
declare
  v_comps text[] := tableos.fs_parse(p_path);
  v_n integer := cardinality(v_comps);
  v_i integer;
  v_sub text;
  l record;
begin
  for v_i in case when p_parents then 1 else greatest(v_n, 1) end .. v_n loop
    v_sub := '/' || array_to_string(v_comps[1:v_i], '/');
    select * into l from tableos.fs_lookup(p_uid, p_gids, v_sub, true, true);
    if l.ino is null then
      l.ino := tableos.fs_new_inode(p_uid, p_gids, l.parent, l.name, 'd', p_mode, null, v_sub);
    elsif not p_parents then
      perform tableos.fs_fail('EEXIST', 'file exists', p_path);
    elsif l.kind <> 'd' then
      perform tableos.fs_fail(case when v_i = v_n then 'EEXIST' else 'ENOTDIR' end,
        case when v_i = v_n then 'file exists' else 'not a directory' end, v_sub);
    end if;
  end loop;
  if v_n = 0 then
    if not p_parents then
      perform tableos.fs_fail('EEXIST', 'file exists', p_path);
    end if;
    return 1;
  end if;
  return l.ino;
end;
$$;

-- Drops one link to an inode; the last link removes the inode and its data.
create function tableos.fs_drop_link(p_ino bigint) returns void
language plpgsql as $$
declare
  v_nlink integer;
begin
  update tableos.fs_inode i set nlink = i.nlink - 1, ctime = now() where i.ino = p_ino
  returning nlink into v_nlink;
  if v_nlink <= 0 then
    delete from tableos.fs_inode i where i.ino = p_ino;
    delete from tableos.fs_block b where b.ino = p_ino;
    delete from tableos.fs_symlink s where s.ino = p_ino;
  end if;
end;
$$;

-- Locks the directory holding an entry for removal or rename, checking write+search and the
-- sticky bit (only the owner of the entry or of the directory may remove it).
create function tableos.fs_lock_parent(
  p_uid integer, p_gids integer[], p_parent bigint, p_entry_ino bigint, p_path text
) returns void
language plpgsql as $$
declare
  v_dir tableos.fs_inode;
  v_owner integer;
begin
  select * into v_dir from tableos.fs_inode i where i.ino = p_parent for no key update;
  if not found then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  elsif not tableos.fs_may(p_uid, p_gids, v_dir.uid, v_dir.gid, v_dir.mode, 3) then
    perform tableos.fs_fail('EACCES', 'permission denied', p_path);
  elsif v_dir.mode & 512 <> 0 and p_uid <> 0 and p_uid <> v_dir.uid then
    select i.uid into v_owner from tableos.fs_inode i where i.ino = p_entry_ino;
    if v_owner is distinct from p_uid then
      perform tableos.fs_fail('EACCES', 'permission denied (sticky directory)', p_path);
    end if;
  end if;
  if v_dir.mtime <> now() then
    update tableos.fs_inode i set mtime = now(), ctime = now() where i.ino = p_parent;
  end if;
end;
$$;

-- Removes a directory entry of a non-directory.
create function tableos.fs_unlink(p_uid integer, p_gids integer[], p_path text) returns void
language plpgsql as $$
declare
  l record;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, false, true);
  if l.ino is null then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  elsif l.kind = 'd' then
    perform tableos.fs_fail('EISDIR', 'is a directory', p_path);
  end if;
  perform tableos.fs_lock_parent(p_uid, p_gids, l.parent, l.ino, p_path);
  delete from tableos.fs_dirent d where d.parent = l.parent and d.name = l.name and d.ino = l.ino;
  if not found then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  end if;
  perform tableos.fs_drop_link(l.ino);
end;
$$;

-- Removes an empty directory.
create function tableos.fs_rmdir(p_uid integer, p_gids integer[], p_path text) returns void
language plpgsql as $$
declare
  l record;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, false, true);
  if l.parent is null then
    perform tableos.fs_fail('EBUSY', 'cannot remove the root directory', p_path);
  elsif l.ino is null then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  elsif l.kind <> 'd' then
    perform tableos.fs_fail('ENOTDIR', 'not a directory', p_path);
  end if;
  perform tableos.fs_lock_parent(p_uid, p_gids, l.parent, l.ino, p_path);
  -- Lock the directory itself: a create in it holds this row until it commits.
  perform 1 from tableos.fs_inode i where i.ino = l.ino for update;
  if exists (select 1 from tableos.fs_dirent d where d.parent = l.ino) then
    perform tableos.fs_fail('ENOTEMPTY', 'directory not empty', p_path);
  end if;
  delete from tableos.fs_dirent d where d.parent = l.parent and d.name = l.name;
  delete from tableos.fs_inode i where i.ino = l.ino;
  update tableos.fs_inode i set nlink = i.nlink - 1 where i.ino = l.parent;
end;
$$;

-- Removes a file, or with p_recursive a directory and everything below it, in one
-- transaction. Returns the number of entries removed.
create function tableos.fs_remove(
  p_uid integer, p_gids integer[], p_path text, p_recursive boolean
) returns bigint
language plpgsql as $$
declare
  l record;
  v_dirs bigint[];
  v_dead bigint[];
  v_count bigint;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, false, true);
  if l.parent is null then
    perform tableos.fs_fail('EBUSY', 'cannot remove the root directory', p_path);
  elsif l.ino is null then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  elsif l.kind <> 'd' then
    perform tableos.fs_unlink(p_uid, p_gids, p_path);
    return 1;
  elsif not p_recursive then
    perform tableos.fs_fail('EISDIR', 'is a directory (remove it recursively)', p_path);
  end if;
  perform tableos.fs_lock_parent(p_uid, p_gids, l.parent, l.ino, p_path);
  with recursive t(ino) as (
    select l.ino
    union all
    select d.ino from tableos.fs_dirent d join t on d.parent = t.ino where d.kind = 'd'
  )
  select array_agg(t.ino) into v_dirs from t;
  -- Lock the subtree's directories so no entry is added below while we remove.
  perform 1 from tableos.fs_inode i where i.ino = any (v_dirs) order by i.ino for update;
  if p_uid <> 0 and exists (
    select 1 from tableos.fs_inode i
     where i.ino = any (v_dirs) and not tableos.fs_may(p_uid, p_gids, i.uid, i.gid, i.mode, 7)
  ) then
    perform tableos.fs_fail('EACCES', 'permission denied below', p_path);
  end if;
  with gone as (
    delete from tableos.fs_dirent d where d.parent = any (v_dirs) returning d.ino, d.kind
  ), links as (
    select g.ino, count(*) as n from gone g where g.kind <> 'd' group by g.ino
  ), upd as (
    update tableos.fs_inode i set nlink = i.nlink - links.n, ctime = now()
      from links where i.ino = links.ino
    returning i.ino, i.nlink
  )
  select array_agg(upd.ino) filter (where upd.nlink <= 0), (select count(*) from gone)
    into v_dead, v_count from upd;
  delete from tableos.fs_dirent d where d.parent = l.parent and d.name = l.name;
  delete from tableos.fs_inode i where i.ino = any (v_dirs) or i.ino = any (v_dead);
  delete from tableos.fs_block b where b.ino = any (v_dead);
  delete from tableos.fs_symlink s where s.ino = any (v_dead);
  update tableos.fs_inode i set nlink = i.nlink - 1 where i.ino = l.parent;
  return coalesce(v_count, 0) + 1;
end;
$$;

-- Renames atomically. A directory moving to another parent takes a global rename lock first,
-- so two crossing moves cannot build a cycle; moving a directory below itself is EINVAL.
create function tableos.fs_rename(
  p_uid integer, p_gids integer[], p_from text, p_to text
) returns void
language plpgsql as $$
declare
  s record;
  d record;
  v_cur bigint;
  v_kind "char";
  v_dkind "char";
  v_dino bigint;
  v_old text;
  v_new text;
begin
  select * into s from tableos.fs_lookup(p_uid, p_gids, p_from, false, true);
  if s.parent is null then
    perform tableos.fs_fail('EBUSY', 'cannot rename the root directory', p_from);
  elsif s.ino is null then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_from);
  end if;
  -- Directory renames are exclusive with every change that stores paths (the shared side
  -- is taken by those), so the paths rewritten below see every entry, and crossing
  -- directory moves cannot build a cycle.
  if s.kind = 'd' then
    perform pg_advisory_xact_lock(7365235046436081507); -- 'fsrename'
  else
    perform pg_advisory_xact_lock_shared(7365235046436081507);
  end if;
  select * into d from tableos.fs_lookup(p_uid, p_gids, p_to, false, true);
  if d.parent is null then
    perform tableos.fs_fail('EBUSY', 'cannot replace the root directory', p_to);
  end if;
  -- Lock both directories in inode order, then re-read the entries under the locks.
  perform tableos.fs_lock_parent(p_uid, p_gids, x.ino, case when x.ino = s.parent then s.ino else d.ino end,
                                 case when x.ino = s.parent then p_from else p_to end)
     from (select distinct unnest(array[s.parent, d.parent]) as ino order by 1) x;
  select e.kind into v_kind from tableos.fs_dirent e
   where e.parent = s.parent and e.name = s.name and e.ino = s.ino;
  if not found then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_from);
  end if;
  select e.ino, e.kind into v_dino, v_dkind from tableos.fs_dirent e
   where e.parent = d.parent and e.name = d.name;
  if v_dino = s.ino then
    return; -- same file: nothing to do
  end if;
  if v_kind = 'd' then
    v_cur := d.parent;
    while v_cur <> 1 loop
      if v_cur = s.ino then
        perform tableos.fs_fail('EINVAL', 'cannot move a directory into itself', p_to);
      end if;
      select i.parent into v_cur from tableos.fs_inode i where i.ino = v_cur;
    end loop;
  end if;
  if v_dino is not null then
    if v_kind = 'd' and v_dkind <> 'd' then
      perform tableos.fs_fail('ENOTDIR', 'not a directory', p_to);
    elsif v_kind <> 'd' and v_dkind = 'd' then
      perform tableos.fs_fail('EISDIR', 'is a directory', p_to);
    end if;
    delete from tableos.fs_dirent e where e.parent = d.parent and e.name = d.name;
    if v_dkind = 'd' then
      perform 1 from tableos.fs_inode i where i.ino = v_dino for update;
      if exists (select 1 from tableos.fs_dirent e where e.parent = v_dino) then
        perform tableos.fs_fail('ENOTEMPTY', 'directory not empty', p_to);
      end if;
      delete from tableos.fs_inode i where i.ino = v_dino;
      update tableos.fs_inode i set nlink = i.nlink - 1 where i.ino = d.parent;
    else
      perform tableos.fs_drop_link(v_dino);
    end if;
  end if;
  delete from tableos.fs_dirent e where e.parent = s.parent and e.name = s.name
  returning e.path into v_old;
  v_new := tableos.fs_join(tableos.fs_path_of(d.parent), d.name);
  insert into tableos.fs_dirent (parent, name, ino, kind, path)
  values (d.parent, d.name, s.ino, v_kind, v_new);
  if v_kind = 'd' then
    -- Everything below moves with it: one range update (C collation, '0' follows '/').
    update tableos.fs_dirent e set path = v_new || substr(e.path, length(v_old) + 1)
     where e.path > (v_old || '/') collate "C" and e.path < (v_old || '0') collate "C";
    update tableos.fs_inode i set parent = d.parent, name = d.name, ctime = now()
     where i.ino = s.ino;
    update tableos.fs_inode i
       set nlink = i.nlink + case when i.ino = d.parent then 1 else -1 end
     where i.ino in (s.parent, d.parent) and s.parent <> d.parent;
  else
    update tableos.fs_inode i set ctime = now() where i.ino = s.ino;
  end if;
end;
$$;

-- Adds a hard link to an existing non-directory.
create function tableos.fs_link(
  p_uid integer, p_gids integer[], p_existing text, p_new text
) returns void
language plpgsql as $$
declare
  s record;
  d record;
begin
  select * into s from tableos.fs_lookup(p_uid, p_gids, p_existing, false, false);
  if s.kind = 'd' then
    perform tableos.fs_fail('EPERM', 'cannot hard-link a directory', p_existing);
  end if;
  select * into d from tableos.fs_lookup(p_uid, p_gids, p_new, false, true);
  if d.parent is null or d.ino is not null then
    perform tableos.fs_fail('EEXIST', 'file exists', p_new);
  end if;
  perform tableos.fs_add_entry(p_uid, p_gids, d.parent, d.name, s.ino, s.kind, p_new);
  update tableos.fs_inode i set nlink = i.nlink + 1, ctime = now() where i.ino = s.ino;
  if not found then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_existing);
  end if;
end;
$$;

create function tableos.fs_symlink(
  p_uid integer, p_gids integer[], p_target text, p_path text
) returns bigint
language plpgsql as $$
declare
  d record;
  v_ino bigint;
begin
  if p_target is null or p_target = '' then
    perform tableos.fs_fail('EINVAL', 'empty symlink target', p_path);
  elsif octet_length(p_target) > 4096 then
    perform tableos.fs_fail('ENAMETOOLONG', 'symlink target longer than 4096 bytes', p_path);
  end if;
  select * into d from tableos.fs_lookup(p_uid, p_gids, p_path, false, true);
  if d.parent is null or d.ino is not null then
    perform tableos.fs_fail('EEXIST', 'file exists', p_path);
  end if;
  v_ino := tableos.fs_new_inode(p_uid, p_gids, d.parent, d.name, 'l', 511, null, p_path);
  update tableos.fs_inode i set size = octet_length(p_target) where i.ino = v_ino;
  insert into tableos.fs_symlink (ino, target) values (v_ino, p_target);
  return v_ino;
end;
$$;

create function tableos.fs_readlink(p_uid integer, p_gids integer[], p_path text) returns text
language plpgsql stable as $$
declare
  l record;
  v_target text;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, false, false);
  if l.kind <> 'l' then
    perform tableos.fs_fail('EINVAL', 'not a symbolic link', p_path);
  end if;
  select s.target into v_target from tableos.fs_symlink s where s.ino = l.ino;
  return v_target;
end;
$$;
