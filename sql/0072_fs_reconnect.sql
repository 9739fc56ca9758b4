-- 0072_fs_reconnect: file-system changes whose second run would fail or do more run once by
-- token (0070_once). A client that lost its connection while one was committing runs it again
-- with the same token and gets the first run's outcome: an exclusive create or mkdir does not
-- report EEXIST for its own entry, an unlink, rmdir, remove or rename does not report ENOENT
-- for what it already did, and an append does not write its bytes twice. Each wrapper records
-- the procedure's own outcome (null for one that returns nothing); a procedure's POSIX error
-- rolls the transaction back, so nothing is recorded and the error reaches the client as it is.

create function tableos.fs_mkdir_once(
  p_token uuid, p_forget uuid[],
  p_uid integer, p_gids integer[], p_path text, p_mode integer, p_parents boolean
) returns bigint
language plpgsql as $$
declare
  v jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v is null then
    v := to_jsonb(tableos.fs_mkdir(p_uid, p_gids, p_path, p_mode, p_parents));
    perform tableos.op_record(p_token, v);
  end if;
  return (v #>> '{}')::bigint;
end;
$$;

-- The create batcher's statement: per item its inode or its POSIX error, as the first run
-- returned them.
create function tableos.fs_create_many_once(
  p_token uuid, p_forget uuid[],
  p_uid integer, p_gids integer[], p_paths text[], p_modes integer[], p_blob bytea,
  p_lens integer[], p_exclusive boolean
) returns table (i integer, ino bigint, errno text, message text)
language plpgsql as $$
declare
  v jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v is null then
    select coalesce(jsonb_agg(c order by c.i), '[]') into v
      from tableos.fs_create_many(p_uid, p_gids, p_paths, p_modes, p_blob, p_lens, p_exclusive) c;
    perform tableos.op_record(p_token, v);
  end if;
  return query select x.i, x.ino, x.errno, x.message
                 from jsonb_to_recordset(v) as x(i integer, ino bigint, errno text, message text);
end;
$$;

-- open with a flag that creates or truncates (w, w+, wx, a, a+, ax).
create function tableos.fs_open_once(
  p_token uuid, p_forget uuid[],
  p_uid integer, p_gids integer[], p_path text, p_flags text, p_mode integer,
  out ino bigint, out size bigint
)
language plpgsql as $$
declare
  v jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v is null then
    select to_jsonb(o) into v from tableos.fs_open(p_uid, p_gids, p_path, p_flags, p_mode) o;
    perform tableos.op_record(p_token, v);
  end if;
  ino := (v ->> 'ino')::bigint;
  size := (v ->> 'size')::bigint;
end;
$$;

create function tableos.fs_append_once(
  p_token uuid, p_forget uuid[],
  p_uid integer, p_gids integer[], p_path text, p_data bytea, p_mode integer
) returns bigint
language plpgsql as $$
declare
  v jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v is null then
    v := to_jsonb(tableos.fs_append(p_uid, p_gids, p_path, p_data, p_mode));
    perform tableos.op_record(p_token, v);
  end if;
  return (v #>> '{}')::bigint;
end;
$$;

-- A write through a handle opened for appending (p_append): at the end, wherever that is.
create function tableos.fs_pwrite_once(
  p_token uuid, p_forget uuid[],
  p_uid integer, p_gids integer[], p_ino bigint, p_off bigint, p_data bytea, p_append boolean
) returns bigint
language plpgsql as $$
declare
  v jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v is null then
    v := to_jsonb(tableos.fs_pwrite(p_uid, p_gids, p_ino, p_off, p_data, p_append));
    perform tableos.op_record(p_token, v);
  end if;
  return (v #>> '{}')::bigint;
end;
$$;

create function tableos.fs_unlink_once(
  p_token uuid, p_forget uuid[], p_uid integer, p_gids integer[], p_path text
) returns void
language plpgsql as $$
begin
  if tableos.op_recall(p_token, p_forget) is null then
    perform tableos.fs_unlink(p_uid, p_gids, p_path);
    perform tableos.op_record(p_token, null);
  end if;
end;
$$;

create function tableos.fs_rmdir_once(
  p_token uuid, p_forget uuid[], p_uid integer, p_gids integer[], p_path text
) returns void
language plpgsql as $$
begin
  if tableos.op_recall(p_token, p_forget) is null then
    perform tableos.fs_rmdir(p_uid, p_gids, p_path);
    perform tableos.op_record(p_token, null);
  end if;
end;
$$;

create function tableos.fs_remove_once(
  p_token uuid, p_forget uuid[],
  p_uid integer, p_gids integer[], p_path text, p_recursive boolean
) returns bigint
language plpgsql as $$
declare
  v jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v is null then
    v := to_jsonb(tableos.fs_remove(p_uid, p_gids, p_path, p_recursive));
    perform tableos.op_record(p_token, v);
  end if;
  return (v #>> '{}')::bigint;
end;
$$;

create function tableos.fs_rename_once(
  p_token uuid, p_forget uuid[], p_uid integer, p_gids integer[], p_from text, p_to text
) returns void
language plpgsql as $$
begin
  if tableos.op_recall(p_token, p_forget) is null then
    perform tableos.fs_rename(p_uid, p_gids, p_from, p_to);
    perform tableos.op_record(p_token, null);
  end if;
end;
$$;

create function tableos.fs_link_once(
  p_token uuid, p_forget uuid[], p_uid integer, p_gids integer[], p_existing text, p_new text
) returns void
language plpgsql as $$
begin
  if tableos.op_recall(p_token, p_forget) is null then
    perform tableos.fs_link(p_uid, p_gids, p_existing, p_new);
    perform tableos.op_record(p_token, null);
  end if;
end;
$$;

create function tableos.fs_symlink_once(
  p_token uuid, p_forget uuid[], p_uid integer, p_gids integer[], p_target text, p_path text
) returns bigint
language plpgsql as $$
declare
  v jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v is null then
    v := to_jsonb(tableos.fs_symlink(p_uid, p_gids, p_target, p_path));
    perform tableos.op_record(p_token, v);
  end if;
  return (v #>> '{}')::bigint;
end;
$$;

create function tableos.fs_copy_once(
  p_token uuid, p_forget uuid[],
  p_uid integer, p_gids integer[], p_from text, p_to text, p_recursive boolean
) returns bigint
language plpgsql as $$
declare
  v jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v is null then
    v := to_jsonb(tableos.fs_copy(p_uid, p_gids, p_from, p_to, p_recursive));
    perform tableos.op_record(p_token, v);
  end if;
  return (v #>> '{}')::bigint;
end;
$$;

-- One batch of a tree import. Running a batch again would end in the same tree, but would
-- replace its symlinks with new inodes; run once, the retry changes nothing.
create function tableos.fs_put_many_once(
  p_token uuid, p_forget uuid[],
  p_uid integer, p_gids integer[], p_kinds text[], p_paths text[], p_modes integer[],
  p_mtimes timestamptz[], p_blob bytea, p_lens integer[], p_targets text[]
) returns integer
language plpgsql as $$
declare
  v jsonb := tableos.op_recall(p_token, p_forget);
begin
  if v is null then
    v := to_jsonb(tableos.fs_put_many(p_uid, p_gids, p_kinds, p_paths, p_modes, p_mtimes,
                                      p_blob, p_lens, p_targets));
    perform tableos.op_record(p_token, v);
  end if;
  return (v #>> '{}')::integer;
end;
$$;
