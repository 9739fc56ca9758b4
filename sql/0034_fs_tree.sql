-- 0034_fs_tree: whole-tree operations, each one statement or one transaction: recursive
-- listing and find (one recursive CTE), du, copy, batched create and import, and the views
-- behind `tableos fs query`.

-- Walks a tree from p_path (symlink at the start followed, none below) in pre-order by name.
-- Directories the caller cannot read and search are listed but not entered.
create function tableos.fs_walk(
  p_uid integer, p_gids integer[], p_path text, p_maxdepth integer
) returns table (path text, depth integer, name text, ino bigint, kind "char", parent bigint)
language plpgsql stable as $$
declare
  l record;
  v_path text := '/' || array_to_string(tableos.fs_parse(p_path), '/');
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, true, false);
  return query
  with recursive t(path, depth, name, ino, kind, parent) as (
    select v_path, 0, coalesce(nullif(regexp_replace(v_path, '^.*/', ''), ''), '/'),
           l.ino, l.kind, null::bigint
    union all
    select tableos.fs_join(t.path, d.name collate "default"), t.depth + 1, d.name collate "default",
           d.ino, d.kind, d.parent
      from t join tableos.fs_dirent d on d.parent = t.ino
     where t.kind = 'd'
       and (p_maxdepth is null or t.depth < p_maxdepth)
       and (p_uid = 0 or (select tableos.fs_may(p_uid, p_gids, i.uid, i.gid, i.mode, 5)
                            from tableos.fs_inode i where i.ino = t.ino))
  )
  select t.path, t.depth, t.name, t.ino, t.kind, t.parent from t
   order by replace(t.path, '/', E'\x01') collate "C";
end;
$$;

-- ls -l material: the walk joined with the inodes.
create function tableos.fs_list(
  p_uid integer, p_gids integer[], p_path text, p_maxdepth integer
) returns table (
  path text, depth integer, name text, ino bigint, kind "char", mode integer, uid integer,
  gid integer, size bigint, nlink integer, mtime timestamptz, target text
)
language sql stable as $$
  select w.path, w.depth, w.name, w.ino, w.kind, i.mode, i.uid, i.gid, i.size, i.nlink,
         i.mtime, s.target
    from tableos.fs_walk(p_uid, p_gids, p_path, p_maxdepth) w
    join tableos.fs_inode i on i.ino = w.ino
    left join tableos.fs_symlink s on s.ino = w.ino
   order by replace(w.path, '/', E'\x01') collate "C"
$$;

-- find: name as a regular expression, kind, size in units of p_unit compared by p_cmp
-- (+ greater, - less, = equal, rounding up like find), modified after p_newer's mtime.
create function tableos.fs_find(
  p_uid integer, p_gids integer[], p_path text, p_name_re text, p_kind "char",
  p_size_cmp text, p_size_n bigint, p_size_unit bigint, p_newer text, p_maxdepth integer
) returns setof text
language plpgsql stable as $$
declare
  v_newer timestamptz;
begin
  if p_newer is not null then
    select st.mtime into v_newer from tableos.fs_stat(p_uid, p_gids, p_newer, true) st;
  end if;
  if p_size_cmp is not null and (p_size_cmp not in ('+', '-', '=') or p_size_unit < 1) then
    perform tableos.fs_fail('EINVAL', 'bad size test');
  end if;
  if p_size_cmp is null and v_newer is null then
    return query select w.path from tableos.fs_walk(p_uid, p_gids, p_path, p_maxdepth) w
      where (p_name_re is null or w.name ~ p_name_re) and (p_kind is null or w.kind = p_kind);
    return;
  end if;
  return query
  select w.path from tableos.fs_walk(p_uid, p_gids, p_path, p_maxdepth) w
    join tableos.fs_inode i on i.ino = w.ino
   where (p_name_re is null or w.name ~ p_name_re)
     and (p_kind is null or w.kind = p_kind)
     and (v_newer is null or i.mtime > v_newer)
     and (p_size_cmp is null or case p_size_cmp
            when '+' then (i.size + p_size_unit - 1) / p_size_unit > p_size_n
            when '-' then (i.size + p_size_unit - 1) / p_size_unit < p_size_n
            else (i.size + p_size_unit - 1) / p_size_unit = p_size_n end)
   order by replace(w.path, '/', E'\x01') collate "C";
end;
$$;

-- du: bytes of file data (apparent size, each inode once) per directory, or only the total.
create function tableos.fs_du(p_uid integer, p_gids integer[], p_path text, p_summary boolean)
returns table (path text, bytes bigint)
language plpgsql stable as $$
declare
  l record;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, true, false);
  return query
  with recursive t(ino, kind, anc) as (
    select l.ino, l.kind, array[l.ino]
    union all
    select d.ino, d.kind, case when d.kind = 'd' then t.anc || d.ino else t.anc end
      from t join tableos.fs_dirent d on d.parent = t.ino
     where t.kind = 'd'
       and (p_uid = 0 or (select tableos.fs_may(p_uid, p_gids, i.uid, i.gid, i.mode, 5)
                            from tableos.fs_inode i where i.ino = t.ino))
  ), files as (
    select distinct on (t.ino) t.anc, i.size from t join tableos.fs_inode i on i.ino = t.ino
     where t.kind <> 'd'
  ), sums as (
    select a.dir, sum(f.size)::bigint as bytes
      from files f cross join lateral unnest(f.anc) a(dir)
     group by a.dir
  ), dirs as (
    select t.ino from t where t.kind = 'd' and (not p_summary or t.ino = l.ino)
  )
  select x.path, x.bytes from (
    select tableos.fs_dir_path(dirs.ino) as path, coalesce(sums.bytes, 0)::bigint as bytes
      from dirs left join sums on sums.dir = dirs.ino
    union all
    select '/' || array_to_string(tableos.fs_parse(p_path), '/'), f.size
      from files f where l.kind <> 'd'
  ) x
  order by replace(x.path, '/', E'\x01') collate "C";
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
begin
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
    old bigint, old_parent bigint, new bigint, name text, kind "char", depth integer
  ) on commit drop;
  truncate fs_copy_map;
  with recursive t(ino, parent, name, kind, depth) as (
    select s.ino, null::bigint, d.name, s.kind, 0
    union all
    select e.ino, e.parent, e.name collate "default", e.kind, t.depth + 1
      from t join tableos.fs_dirent e on e.parent = t.ino where t.kind = 'd'
  )
  insert into fs_copy_map select t.ino, t.parent, nextval('tableos.fs_ino_seq'), t.name, t.kind, t.depth from t;
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
  insert into tableos.fs_dirent (parent, name, ino, kind)
  select p.new, m.name, m.new, m.kind
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
