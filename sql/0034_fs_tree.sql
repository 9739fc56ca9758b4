-- 0034_fs_tree: whole-tree operations, each one statement or one transaction: recursive
-- listing and find (one recursive CTE), du, copy, batched create and import, and the views
-- behind `tableos fs query`.

-- The entries under a resolved start (p_ino, p_kind at p_path). Directories the caller cannot
-- read and search are listed but not entered. The recursive CTE runs over directories only
-- (through fs_inode.parent); the entries of all entered directories then come from one join,
-- instead of one index probe per entry.
create function tableos.fs_walk_rows(
  p_uid integer, p_gids integer[], p_ino bigint, p_kind "char", p_path text, p_enter boolean,
  p_maxdepth integer
) returns table (path text, depth integer, name text, ino bigint, kind "char", parent bigint)
language sql stable as $$
  with recursive dirs(ino, path, depth) as (
    select p_ino, p_path, 0
     where p_kind = 'd' and p_enter and (p_maxdepth is null or p_maxdepth > 0)
    union all
    select i.ino, tableos.fs_join(dirs.path, i.name collate "default"), dirs.depth + 1
      from dirs join tableos.fs_inode i on i.parent = dirs.ino and i.kind = 'd' and i.ino <> 1
     where (p_maxdepth is null or dirs.depth + 1 < p_maxdepth)
       and (p_uid = 0 or tableos.fs_may(p_uid, p_gids, i.uid, i.gid, i.mode, 5))
  )
  select p_path, 0, coalesce(nullif(regexp_replace(p_path, '^.*/', ''), ''), '/'),
         p_ino, p_kind, null::bigint
  union all
  select tableos.fs_join(dirs.path, d.name collate "default"), dirs.depth + 1,
         d.name collate "default", d.ino, d.kind, d.parent
    from dirs join tableos.fs_dirent d on d.parent = dirs.ino
$$;

-- Resolves a walk's start for the caller: its inode, kind, normalised path, and whether the
-- caller may enter it.
create function tableos.fs_walk_start(
  p_uid integer, p_gids integer[], p_path text,
  out ino bigint, out kind "char", out path text, out enter boolean
)
language plpgsql stable as $$
declare
  l record;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, true, false);
  ino := l.ino;
  kind := l.kind;
  path := '/' || array_to_string(tableos.fs_parse(p_path), '/');
  select tableos.fs_may(p_uid, p_gids, i.uid, i.gid, i.mode, 5) into enter
    from tableos.fs_inode i where i.ino = l.ino;
end;
$$;

-- Walks a tree from p_path (a symlink at the start is followed, none below). With p_sorted
-- the rows come in pre-order by name; without, in no particular order (as find prints).
create function tableos.fs_walk(
  p_uid integer, p_gids integer[], p_path text, p_maxdepth integer, p_sorted boolean
) returns table (path text, depth integer, name text, ino bigint, kind "char", parent bigint)
language plpgsql stable as $$
declare
  s record;
begin
  s := tableos.fs_walk_start(p_uid, p_gids, p_path);
  if p_sorted then
    return query select w.* from tableos.fs_walk_rows(p_uid, p_gids, s.ino, s.kind, s.path, s.enter, p_maxdepth) w
                  order by replace(w.path, '/', E'\x01') collate "C";
  else
    return query select w.* from tableos.fs_walk_rows(p_uid, p_gids, s.ino, s.kind, s.path, s.enter, p_maxdepth) w;
  end if;
end;
$$;

-- ls -l material: the walk joined with the inodes, in pre-order.
create function tableos.fs_list(
  p_uid integer, p_gids integer[], p_path text, p_maxdepth integer
) returns table (
  path text, depth integer, name text, ino bigint, kind "char", mode integer, uid integer,
  gid integer, size bigint, nlink integer, mtime timestamptz, target text
)
language plpgsql stable as $$
declare
  s record;
begin
  s := tableos.fs_walk_start(p_uid, p_gids, p_path);
  return query
  select w.path, w.depth, w.name, w.ino, w.kind, i.mode, i.uid, i.gid, i.size, i.nlink,
         i.mtime, l.target
    from tableos.fs_walk_rows(p_uid, p_gids, s.ino, s.kind, s.path, s.enter, p_maxdepth) w
    join tableos.fs_inode i on i.ino = w.ino
    left join tableos.fs_symlink l on l.ino = w.ino
   order by replace(w.path, '/', E'\x01') collate "C";
end;
$$;

-- find: name as a regular expression, kind, size in units of p_unit compared by p_cmp
-- (+ greater, - less, = equal, rounding up like find), modified after p_newer's mtime.
create function tableos.fs_find(
  p_uid integer, p_gids integer[], p_path text, p_name_re text, p_kind "char",
  p_size_cmp text, p_size_n bigint, p_size_unit bigint, p_newer text, p_maxdepth integer,
  p_sorted boolean
) returns setof text
language plpgsql stable as $$
declare
  v_newer timestamptz;
  s record;
begin
  if p_newer is not null then
    select st.mtime into v_newer from tableos.fs_stat(p_uid, p_gids, p_newer, true) st;
  end if;
  if p_size_cmp is not null and (p_size_cmp not in ('+', '-', '=') or p_size_unit < 1) then
    perform tableos.fs_fail('EINVAL', 'bad size test');
  end if;
  s := tableos.fs_walk_start(p_uid, p_gids, p_path);
  if p_size_cmp is null and v_newer is null then
    -- Names and kinds only: the entries alone answer, no inode is read.
    return query
    select w.path from tableos.fs_walk_rows(p_uid, p_gids, s.ino, s.kind, s.path, s.enter, p_maxdepth) w
     where (p_name_re is null or w.name ~ p_name_re) and (p_kind is null or w.kind = p_kind)
     order by case when p_sorted then replace(w.path, '/', E'\x01') end collate "C";
    return;
  end if;
  return query
  select w.path from tableos.fs_walk_rows(p_uid, p_gids, s.ino, s.kind, s.path, s.enter, p_maxdepth) w
    join tableos.fs_inode i on i.ino = w.ino
   where (p_name_re is null or w.name ~ p_name_re)
     and (p_kind is null or w.kind = p_kind)
     and (v_newer is null or i.mtime > v_newer)
     and (p_size_cmp is null or case p_size_cmp
            when '+' then (i.size + p_size_unit - 1) / p_size_unit > p_size_n
            when '-' then (i.size + p_size_unit - 1) / p_size_unit < p_size_n
            else (i.size + p_size_unit - 1) / p_size_unit = p_size_n end)
   order by case when p_sorted then replace(w.path, '/', E'\x01') end collate "C";
end;
$$;

-- du: bytes of file data (apparent size, each inode once) per directory, or only the total.
create function tableos.fs_du(p_uid integer, p_gids integer[], p_path text, p_summary boolean)
returns table (path text, bytes bigint)
language plpgsql stable as $$
declare
  s record;
begin
  s := tableos.fs_walk_start(p_uid, p_gids, p_path);
  if s.kind <> 'd' then
    return query select s.path, i.size from tableos.fs_inode i where i.ino = s.ino;
    return;
  end if;
  return query
  with recursive dirs(ino, path, anc) as (
    select s.ino, s.path, array[s.ino] where s.enter
    union all
    select i.ino, tableos.fs_join(dirs.path, i.name collate "default"), dirs.anc || i.ino
      from dirs join tableos.fs_inode i on i.parent = dirs.ino and i.kind = 'd' and i.ino <> 1
     where p_uid = 0 or tableos.fs_may(p_uid, p_gids, i.uid, i.gid, i.mode, 5)
  ), files as (
    select distinct on (d.ino) d.parent, i.size
      from dirs join tableos.fs_dirent d on d.parent = dirs.ino
      join tableos.fs_inode i on i.ino = d.ino
     where d.kind <> 'd'
  ), direct as (
    select f.parent, sum(f.size) as bytes from files f group by f.parent
  ), sums as (
    select a.dir, sum(direct.bytes)::bigint as bytes
      from dirs join direct on direct.parent = dirs.ino
      cross join lateral unnest(dirs.anc) a(dir)
     group by a.dir
  )
  select dirs.path, coalesce(sums.bytes, 0)::bigint
    from dirs left join sums on sums.dir = dirs.ino
   where not p_summary or dirs.ino = s.ino
   order by replace(dirs.path, '/', E'\x01') collate "C";
end;
$$;

-- cp / cp -r inside the file system: the whole subtree in one transaction, data blocks
-- copied by the server. Copies belong to the caller and keep their modes.
create function tableos.fs_copy(
  p_uid integer, p_gids integer[], p_from text, p_to text, p_recursive boolean
) returns bigint
language plpgsql as $$
declare
  s record;
  d record;
  v_old bigint[];
  v_new bigint[];
  v_cur bigint;
  v_dst text;
begin
  perform pg_advisory_xact_lock_shared(7365235046436081507); -- paths are computed below: see fs_rename
  select * into s from tableos.fs_lookup(p_uid, p_gids, p_from, true, false);
  if s.kind = 'd' and not p_recursive then
    perform tableos.fs_fail('EISDIR', 'is a directory (copy it recursively)', p_from);
  end if;
  select * into d from tableos.fs_lookup(p_uid, p_gids, p_to, true, true);
  if d.kind = 'd' then -- copy into an existing directory under the source's name
    select * into d from tableos.fs_lookup(p_uid, p_gids,
      tableos.fs_join('/' || array_to_string(tableos.fs_parse(p_to), '/'),
                      regexp_replace('/' || array_to_string(tableos.fs_parse(p_from), '/'), '^.*/', '')),
      true, true);
  end if;
  if d.ino is not null then
    if s.kind = 'd' or d.kind = 'd' then
      perform tableos.fs_fail('EEXIST', 'file exists', p_to);
    end if;
    if d.ino = s.ino then
      perform tableos.fs_fail('EINVAL', 'source and destination are the same file', p_to);
    end if;
    perform tableos.fs_lock_file(p_uid, p_gids, d.ino, p_to);
    perform tableos.fs_truncate_ino(p_uid, p_gids, d.ino, 0, p_to);
    insert into tableos.fs_block (ino, blkno, data)
    select d.ino, b.blkno, b.data from tableos.fs_block b where b.ino = s.ino;
    update tableos.fs_inode i set size = (select x.size from tableos.fs_inode x where x.ino = s.ino)
     where i.ino = d.ino;
    return 1;
  end if;
  if s.kind = 'd' then
    v_cur := d.parent;
    while v_cur <> 1 loop
      if v_cur = s.ino then
        perform tableos.fs_fail('EINVAL', 'cannot copy a directory into itself', p_to);
      end if;
      select i.parent into v_cur from tableos.fs_inode i where i.ino = v_cur;
    end loop;
  end if;
  create temp table if not exists fs_copy_map (
    old bigint, old_parent bigint, new bigint, name text, kind "char", depth integer, path text
  ) on commit drop;
  truncate fs_copy_map;
  v_dst := tableos.fs_join(tableos.fs_path_of(d.parent), d.name);
  with recursive t(ino, parent, name, kind, depth, path) as (
    select s.ino, null::bigint, d.name, s.kind, 0, v_dst
    union all
    select e.ino, e.parent, e.name collate "default", e.kind, t.depth + 1,
           tableos.fs_join(t.path, e.name collate "default")
      from t join tableos.fs_dirent e on e.parent = t.ino where t.kind = 'd'
  )
  insert into fs_copy_map
  select t.ino, t.parent, nextval('tableos.fs_ino_seq'), t.name, t.kind, t.depth, t.path from t;
  if p_uid <> 0 and exists (
    select 1 from fs_copy_map m join tableos.fs_inode i on i.ino = m.old
     where not tableos.fs_may(p_uid, p_gids, i.uid, i.gid, i.mode,
                              case when m.kind = 'd' then 5 when m.kind = 'f' then 4 else 0 end)
  ) then
    perform tableos.fs_fail('EACCES', 'permission denied', p_from);
  end if;
  perform tableos.fs_add_entry(p_uid, p_gids, d.parent, d.name,
    (select m.new from fs_copy_map m where m.depth = 0), s.kind, p_to);
  insert into tableos.fs_inode (ino, kind, mode, uid, gid, size, nlink, parent, name)
  select m.new, i.kind, i.mode, p_uid, coalesce(p_gids[1], 0), i.size,
         case when m.kind = 'd' then 2 + (select count(*) from fs_copy_map c where c.old_parent = m.old and c.kind = 'd') else 1 end,
         case when m.kind = 'd' then coalesce(p.new, d.parent) end,
         case when m.kind = 'd' then m.name end
    from fs_copy_map m join tableos.fs_inode i on i.ino = m.old
    left join fs_copy_map p on p.old = m.old_parent and p.kind = 'd';
  insert into tableos.fs_dirent (parent, name, ino, kind, path)
  select p.new, m.name, m.new, m.kind, m.path
    from fs_copy_map m join fs_copy_map p on p.old = m.old_parent and p.kind = 'd'
   where m.depth > 0;
  insert into tableos.fs_block (ino, blkno, data)
  select m.new, b.blkno, b.data from fs_copy_map m join tableos.fs_block b on b.ino = m.old
   where m.kind = 'f';
  insert into tableos.fs_symlink (ino, target)
  select m.new, l.target from fs_copy_map m join tableos.fs_symlink l on l.ino = m.old
   where m.kind = 'l';
  select count(*) into v_cur from fs_copy_map;
  return v_cur;
end;
$$;
