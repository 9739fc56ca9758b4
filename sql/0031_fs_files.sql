-- 0031_fs_files: creating entries, reading and writing file data, truncating.
-- Every procedure takes the caller's identity (uid, gids) first and checks permissions itself.

-- Adds entry (parent, name) -> ino in a directory the caller may write and search. Locks the
-- directory row first (its mtime changes), so rmdir and rename of it wait for us. The row is
-- rewritten only when something changes: many creates in one directory and one transaction
-- update it once (now() is the transaction's time).
create function tableos.fs_add_entry(
  p_uid integer, p_gids integer[], p_parent bigint, p_name text, p_ino bigint, p_kind "char",
  p_path text
) returns tableos.fs_inode
language plpgsql as $$
declare
  v_dir tableos.fs_inode;
begin
  -- Shared side of the directory-rename lock: a directory rename (which rewrites the stored
  -- paths below it) waits for us, and we compute paths only after any such rename committed.
  perform pg_advisory_xact_lock_shared(7365235046436081507); -- 'fsrename'
  select * into v_dir from tableos.fs_inode i where i.ino = p_parent for no key update;
  if not found then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  elsif v_dir.kind <> 'd' then
    perform tableos.fs_fail('ENOTDIR', 'not a directory', p_path);
  elsif not tableos.fs_may(p_uid, p_gids, v_dir.uid, v_dir.gid, v_dir.mode, 3) then
    perform tableos.fs_fail('EACCES', 'permission denied', p_path);
  end if;
  insert into tableos.fs_dirent (parent, name, ino, kind, path)
  values (p_parent, p_name, p_ino, p_kind,
          tableos.fs_join(tableos.fs_path_of(p_parent), p_name))
  on conflict do nothing;
  if not found then
    perform tableos.fs_fail('EEXIST', 'file exists', p_path);
  end if;
  if p_kind = 'd' or v_dir.mtime <> now() then
    update tableos.fs_inode i
       set mtime = now(), ctime = now(), nlink = i.nlink + case when p_kind = 'd' then 1 else 0 end
     where i.ino = p_parent;
  end if;
  return v_dir;
end;
$$;

-- Creates a new inode with an entry; file data (if any) is written in whole blocks.
create function tableos.fs_new_inode(
  p_uid integer, p_gids integer[], p_parent bigint, p_name text, p_kind "char", p_mode integer,
  p_data bytea, p_path text
) returns bigint
language plpgsql as $$
declare
  v_ino bigint := nextval('tableos.fs_ino_seq');
  v_dir tableos.fs_inode;
  v_len integer := coalesce(octet_length(p_data), 0);
  v_bs integer := tableos.fs_block_size();
begin
  if p_mode is null or p_mode < 0 or p_mode > 4095 then
    perform tableos.fs_fail('EINVAL', 'mode must be between 0 and 07777', p_path);
  end if;
  v_dir := tableos.fs_add_entry(p_uid, p_gids, p_parent, p_name, v_ino, p_kind, p_path);
  insert into tableos.fs_inode (ino, kind, mode, uid, gid, size, nlink, parent, name)
  values (
    v_ino, p_kind, p_mode, p_uid,
    case when v_dir.mode & 1024 <> 0 then v_dir.gid else coalesce(p_gids[1], 0) end,
    v_len, case when p_kind = 'd' then 2 else 1 end,
    case when p_kind = 'd' then p_parent end, case when p_kind = 'd' then p_name end
  );
  if v_len > 0 then
    insert into tableos.fs_block (ino, blkno, data)
    select v_ino, g, substring(p_data from g * v_bs + 1 for v_bs)
      from generate_series(0, (v_len - 1) / v_bs) g;
  end if;
  return v_ino;
end;
$$;

-- Locks a file's inode for a data change and checks it can be written by the caller.
create function tableos.fs_lock_file(p_uid integer, p_gids integer[], p_ino bigint, p_path text)
returns tableos.fs_inode
language plpgsql as $$
declare
  v tableos.fs_inode;
begin
  select * into v from tableos.fs_inode i where i.ino = p_ino for update;
  if not found then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  elsif v.kind = 'd' then
    perform tableos.fs_fail('EISDIR', 'is a directory', p_path);
  elsif not tableos.fs_may(p_uid, p_gids, v.uid, v.gid, v.mode, 2) then
    perform tableos.fs_fail('EACCES', 'permission denied', p_path);
  end if;
  return v;
end;
$$;

-- piece written at byte p_at of a block holding p_old; a gap after p_old reads as zeros.
create function tableos.fs_patch(p_old bytea, p_at integer, p_piece bytea) returns bytea
language sql immutable parallel safe as $$
  select case
    when octet_length(p_old) < p_at
      then p_old || decode(repeat('00', p_at - octet_length(p_old)), 'hex') || p_piece
    else overlay(p_old placing p_piece from p_at + 1 for octet_length(p_piece))
  end
$$;

-- Writes bytes at an offset (or at the end with p_append); returns the new size.
-- Whole blocks are replaced; a partial block is patched inside its own upsert, on the
-- row's latest version, so concurrent writers never lose each other's bytes. Writers of
-- different blocks proceed in parallel and meet only at the inode row, at the end.
create function tableos.fs_pwrite_ino(
  p_uid integer, p_gids integer[], p_ino bigint, p_off bigint, p_data bytea, p_append boolean,
  p_path text
) returns bigint
language plpgsql as $$
declare
  v tableos.fs_inode;
  v_bs integer := tableos.fs_block_size();
  v_len bigint := coalesce(octet_length(p_data), 0);
  v_off bigint := p_off;
  v_b bigint;
  v_s bigint;
  v_e bigint;
  v_piece bytea;
  v_size bigint;
begin
  if p_append then
    -- Appends need the current size, so they take the inode lock first.
    v := tableos.fs_lock_file(p_uid, p_gids, p_ino, p_path);
    v_off := v.size;
  else
    select * into v from tableos.fs_inode i where i.ino = p_ino;
    if not found then
      perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
    elsif v.kind = 'd' then
      perform tableos.fs_fail('EISDIR', 'is a directory', p_path);
    elsif not tableos.fs_may(p_uid, p_gids, v.uid, v.gid, v.mode, 2) then
      perform tableos.fs_fail('EACCES', 'permission denied', p_path);
    end if;
  end if;
  if v_off is null or v_off < 0 then
    perform tableos.fs_fail('EINVAL', 'offset must be a non-negative integer', p_path);
  end if;
  if v_len = 0 then
    return v.size;
  end if;
  for v_b in v_off / v_bs .. (v_off + v_len - 1) / v_bs loop
    v_s := greatest(v_off, v_b * v_bs);
    v_e := least(v_off + v_len, (v_b + 1) * v_bs);
    v_piece := substring(p_data from (v_s - v_off + 1)::integer for (v_e - v_s)::integer);
    if v_s = v_b * v_bs and v_e = (v_b + 1) * v_bs then
      insert into tableos.fs_block (ino, blkno, data) values (p_ino, v_b, v_piece)
      on conflict (ino, blkno) do update set data = excluded.data;
    else
      insert into tableos.fs_block as b (ino, blkno, data)
      values (p_ino, v_b, tableos.fs_patch(''::bytea, (v_s - v_b * v_bs)::integer, v_piece))
      on conflict (ino, blkno) do update
        set data = tableos.fs_patch(b.data, (v_s - v_b * v_bs)::integer, v_piece);
    end if;
  end loop;
  update tableos.fs_inode i
     set size = greatest(i.size, v_off + v_len), mtime = now(), ctime = now()
   where i.ino = p_ino
  returning i.size into v_size;
  if not found then -- removed while we wrote; the error rolls our blocks back too
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  end if;
  return v_size;
end;
$$;

-- Cuts or extends a file to p_len bytes; extension reads as zeros.
create function tableos.fs_truncate_ino(
  p_uid integer, p_gids integer[], p_ino bigint, p_len bigint, p_path text
) returns void
language plpgsql as $$
declare
  v tableos.fs_inode := tableos.fs_lock_file(p_uid, p_gids, p_ino, p_path);
  v_bs integer := tableos.fs_block_size();
begin
  if p_len is null or p_len < 0 then
    perform tableos.fs_fail('EINVAL', 'length must be a non-negative integer', p_path);
  end if;
  if p_len < v.size then
    delete from tableos.fs_block b where b.ino = p_ino and b.blkno >= (p_len + v_bs - 1) / v_bs;
    if p_len % v_bs <> 0 then
      update tableos.fs_block b set data = substring(b.data from 1 for (p_len % v_bs)::integer)
       where b.ino = p_ino and b.blkno = p_len / v_bs and octet_length(b.data) > p_len % v_bs;
    end if;
  end if;
  update tableos.fs_inode i set size = p_len, mtime = now(), ctime = now() where i.ino = p_ino;
end;
$$;

-- Reads up to p_len bytes at p_off in one statement, so it sees one committed state.
create function tableos.fs_pread_ino(
  p_uid integer, p_gids integer[], p_ino bigint, p_off bigint, p_len bigint, p_path text
) returns bytea
language plpgsql stable as $$
declare
  v_bs integer := tableos.fs_block_size();
  v_kind "char";
  v_ok boolean;
  v_size bigint;
  v_first bigint;
  v_data bytea;
begin
  if p_off is null or p_off < 0 or p_len is null or p_len < 0 then
    perform tableos.fs_fail('EINVAL', 'offset and length must be non-negative integers', p_path);
  elsif p_len > 67108864 then
    perform tableos.fs_fail('EINVAL', 'a single read is limited to 64 MiB; use a stream', p_path);
  end if;
  select i.kind, tableos.fs_may(p_uid, p_gids, i.uid, i.gid, i.mode, 4), i.size,
         (select coalesce(string_agg(
                   case
                     when b.data is null then decode(repeat('00', w.need), 'hex')
                     when octet_length(b.data) >= w.need then substring(b.data from 1 for w.need)
                     else b.data || decode(repeat('00', w.need - octet_length(b.data)), 'hex')
                   end, ''::bytea order by w.g), ''::bytea)
            from (select g, least(v_bs::bigint, i.size - g * v_bs)::integer as need
                    from generate_series(p_off / v_bs, (least(p_off + p_len, i.size) - 1) / v_bs) g) w
            left join tableos.fs_block b on b.ino = i.ino and b.blkno = w.g)
    into v_kind, v_ok, v_size, v_data
    from tableos.fs_inode i where i.ino = p_ino;
  if v_kind is null then
    perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
  elsif v_kind = 'd' then
    perform tableos.fs_fail('EISDIR', 'is a directory', p_path);
  elsif not v_ok then
    perform tableos.fs_fail('EACCES', 'permission denied', p_path);
  end if;
  if p_off >= v_size or p_len = 0 then
    return ''::bytea;
  end if;
  v_first := (p_off / v_bs) * v_bs;
  return substring(v_data from (p_off - v_first + 1)::integer for least(p_len, v_size - p_off)::integer);
end;
$$;

-- Resolves a path to an existing file (following symlinks).
create function tableos.fs_file_ino(p_uid integer, p_gids integer[], p_path text) returns bigint
language plpgsql stable as $$
declare
  l record;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, true, false);
  if l.kind = 'd' then
    perform tableos.fs_fail('EISDIR', 'is a directory', p_path);
  end if;
  return l.ino;
end;
$$;

-- Creates a file with the given content, or with p_exclusive false replaces an existing
-- file's content. Returns the inode.
create function tableos.fs_create(
  p_uid integer, p_gids integer[], p_path text, p_mode integer, p_exclusive boolean, p_data bytea
) returns bigint
language plpgsql as $$
declare
  l record;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, true, true);
  if l.parent is null or l.kind = 'd' then
    perform tableos.fs_fail(case when p_exclusive then 'EEXIST' else 'EISDIR' end,
      case when p_exclusive then 'file exists' else 'is a directory' end, p_path);
  elsif l.ino is null then
    return tableos.fs_new_inode(p_uid, p_gids, l.parent, l.name, 'f', p_mode, p_data, p_path);
  elsif p_exclusive then
    perform tableos.fs_fail('EEXIST', 'file exists', p_path);
  end if;
  perform tableos.fs_truncate_ino(p_uid, p_gids, l.ino, 0, p_path);
  perform tableos.fs_pwrite_ino(p_uid, p_gids, l.ino, 0, p_data, false, p_path);
  return l.ino;
end;
$$;

-- Opens a file with fs flags (r, r+, w, w+, wx, a, a+, ax); returns its inode and size.
create function tableos.fs_open(
  p_uid integer, p_gids integer[], p_path text, p_flags text, p_mode integer,
  out ino bigint, out size bigint
)
language plpgsql as $$
declare
  l record;
  v tableos.fs_inode;
  v_read boolean := p_flags in ('r', 'r+', 'w+', 'a+');
  v_write boolean := p_flags <> 'r';
  v_create boolean := left(p_flags, 1) in ('w', 'a');
begin
  if p_flags is null or p_flags not in ('r', 'r+', 'w', 'w+', 'wx', 'a', 'a+', 'ax') then
    perform tableos.fs_fail('EINVAL', 'flags must be one of r, r+, w, w+, wx, a, a+, ax');
  end if;
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, true, true);
  if l.parent is not null and l.ino is null then
    if not v_create then
      perform tableos.fs_fail('ENOENT', 'no such file or directory', p_path);
    end if;
    ino := tableos.fs_new_inode(p_uid, p_gids, l.parent, l.name, 'f', p_mode, null, p_path);
    size := 0;
    return;
  elsif right(p_flags, 1) = 'x' then
    perform tableos.fs_fail('EEXIST', 'file exists', p_path);
  end if;
  select * into v from tableos.fs_inode i where i.ino = l.ino;
  if v.kind = 'd' then
    if v_write then
      perform tableos.fs_fail('EISDIR', 'is a directory', p_path);
    end if;
  end if;
  if (v_read and not tableos.fs_may(p_uid, p_gids, v.uid, v.gid, v.mode, 4))
     or (v_write and not tableos.fs_may(p_uid, p_gids, v.uid, v.gid, v.mode, 2)) then
    perform tableos.fs_fail('EACCES', 'permission denied', p_path);
  end if;
  ino := v.ino;
  size := v.size;
  if left(p_flags, 1) = 'w' then
    perform tableos.fs_truncate_ino(p_uid, p_gids, v.ino, 0, p_path);
    size := 0;
  end if;
end;
$$;

create function tableos.fs_read(
  p_uid integer, p_gids integer[], p_path text, p_off bigint, p_len bigint
) returns bytea
language sql stable as $$
  select tableos.fs_pread_ino(p_uid, p_gids, tableos.fs_file_ino(p_uid, p_gids, p_path),
                              p_off, p_len, p_path)
$$;

create function tableos.fs_pread(
  p_uid integer, p_gids integer[], p_ino bigint, p_off bigint, p_len bigint
) returns bytea
language sql stable as $$
  select tableos.fs_pread_ino(p_uid, p_gids, p_ino, p_off, p_len, '#' || p_ino)
$$;

create function tableos.fs_write(
  p_uid integer, p_gids integer[], p_path text, p_off bigint, p_data bytea
) returns bigint
language sql as $$
  select tableos.fs_pwrite_ino(p_uid, p_gids, tableos.fs_file_ino(p_uid, p_gids, p_path),
                               p_off, p_data, false, p_path)
$$;

create function tableos.fs_pwrite(
  p_uid integer, p_gids integer[], p_ino bigint, p_off bigint, p_data bytea, p_append boolean
) returns bigint
language sql as $$
  select tableos.fs_pwrite_ino(p_uid, p_gids, p_ino, p_off, p_data, p_append, '#' || p_ino)
$$;

-- Appends to a file, creating it (with p_mode) if absent; returns the new size.
create function tableos.fs_append(
  p_uid integer, p_gids integer[], p_path text, p_data bytea, p_mode integer
) returns bigint
language plpgsql as $$
declare
  l record;
begin
  select * into l from tableos.fs_lookup(p_uid, p_gids, p_path, true, true);
  if l.parent is not null and l.ino is null then
    perform tableos.fs_new_inode(p_uid, p_gids, l.parent, l.name, 'f', p_mode, p_data, p_path);
    return coalesce(octet_length(p_data), 0);
  end if;
  return tableos.fs_pwrite_ino(p_uid, p_gids, l.ino, 0, p_data, true, p_path);
end;
$$;

create function tableos.fs_truncate(
  p_uid integer, p_gids integer[], p_path text, p_len bigint
) returns void
language sql as $$
  select tableos.fs_truncate_ino(p_uid, p_gids, tableos.fs_file_ino(p_uid, p_gids, p_path),
                                 p_len, p_path)
$$;

create function tableos.fs_ftruncate(
  p_uid integer, p_gids integer[], p_ino bigint, p_len bigint
) returns void
language sql as $$
  select tableos.fs_truncate_ino(p_uid, p_gids, p_ino, p_len, '#' || p_ino)
$$;
