-- 0081_apps: applications. An app version and each function it registers are rows, recorded
-- by the node that runs them in one transaction (app_deploy). An executor row names the app
-- version it runs, a workflow run the app version that started it; recovery hands a run only
-- to an executor of that version, so a rolling upgrade neither loses nor re-runs work on other
-- code. A run whose version no longer runs anywhere is stranded (view wf_stranded) until it
-- is moved to another version on purpose (wf_move_version).

create table tableos.app (
  name text not null,
  version text not null,
  code_hash text not null,
  first_seen_at timestamptz not null default clock_timestamp(),
  last_seen_at timestamptz not null default clock_timestamp(),
  last_executor_id text,
  primary key (name, version)
);

comment on table tableos.app is
  'One row per deployed version of an application: its declared version or code hash, and when a node last started it.';

create table tableos.app_function (
  app text not null,
  version text not null,
  kind text not null check (kind in ('workflow', 'procedure', 'step', 'route', 'cron')),
  name text not null,
  input_schema jsonb,
  output_schema jsonb,
  detail jsonb,
  primary key (app, version, kind, name),
  foreign key (app, version) references tableos.app (name, version) on delete cascade
);

comment on table tableos.app_function is
  'The functions of one app version: workflows, procedures, steps, HTTP routes and cron schedules, with their JSON Schemas where declared.';

alter table tableos.executor add column app_name text, add column app_version text;

alter table tableos.workflow
  add column app_name text,
  add column app_version text,
  add column version_moved_from text,
  add column version_moved_at timestamptz;

-- executor_register with the app version the executor runs (null for in-process code).
create function tableos.executor_register(
  p_id text, p_host text, p_pid integer, p_version text, p_lease_ms integer,
  p_app_name text, p_app_version text
) returns tableos.executor
language plpgsql as $$
declare
  v_row tableos.executor;
begin
  if (p_app_name is null) <> (p_app_version is null) then
    perform tableos.raise_error('TABLEOS_INVALID_ARGUMENT',
      'an executor names both its app and the app''s version, or neither');
  end if;
  v_row := tableos.executor_register(p_id, p_host, p_pid, p_version, p_lease_ms);
  if p_app_name is not null then
    update tableos.executor set app_name = p_app_name, app_version = p_app_version
     where id = p_id
    returning * into v_row;
  end if;
  return v_row;
end;
$$;

-- A run started on an executor records that executor's app version. One primary-key read,
-- and only for runs that have an executor and no version yet.
create function tableos.wf_stamp_app() returns trigger
language plpgsql as $$
begin
  select e.app_name, e.app_version into new.app_name, new.app_version
    from tableos.executor e where e.id = new.executor_id;
  return new;
end;
$$;

create trigger workflow_stamp_app before insert on tableos.workflow
  for each row when (new.executor_id is not null and new.app_version is null)
  execute function tableos.wf_stamp_app();

-- Records an app version and its functions (a JSON array of {kind, name, input_schema,
-- output_schema, detail}), started by executor p_executor (which registered as an executor of
-- that version, or null), in one transaction. The same version
-- deployed again replaces its functions; returns whether its code hash changed (the same
-- declared version on other code: the caller warns).
create function tableos.app_deploy(
  p_executor text, p_name text, p_version text, p_code_hash text, p_functions jsonb
) returns table (first_seen_at timestamptz, hash_changed boolean)
language plpgsql as $$
declare
  v_old text;
  v_bad text;
begin
  if p_name is null or p_name !~ '^[A-Za-z0-9._-]{1,100}$' then
    perform tableos.raise_error('TABLEOS_APP_INVALID',
      format('invalid app name %s: use 1-100 letters, digits, . _ -', coalesce(to_json(p_name)::text, 'null')));
  end if;
  if p_version is null or p_version !~ '^[A-Za-z0-9._+-]{1,100}$' then
    perform tableos.raise_error('TABLEOS_APP_INVALID',
      format('invalid app version %s: use 1-100 letters, digits, . _ + -', coalesce(to_json(p_version)::text, 'null')));
  end if;
  if p_functions is null or jsonb_typeof(p_functions) <> 'array' then
    perform tableos.raise_error('TABLEOS_APP_INVALID', 'the functions of an app are a JSON array');
  end if;
  select f->>'kind' into v_bad from jsonb_array_elements(p_functions) f
   where f->>'kind' is null or f->>'kind' not in ('workflow', 'procedure', 'step', 'route', 'cron')
      or coalesce(f->>'name', '') = ''
   limit 1;
  if found then
    perform tableos.raise_error('TABLEOS_APP_INVALID',
      format('a function has kind %s; each needs a name and one of workflow, procedure, step, route, cron',
             coalesce(to_json(v_bad)::text, 'null')));
  end if;
  if p_executor is not null and not exists (select 1 from tableos.executor e where e.id = p_executor
                 and e.app_name = p_name and e.app_version = p_version) then
    perform tableos.raise_error('TABLEOS_APP_INVALID',
      format('executor %s does not run app %s version %s: it registers with the app it runs (TableOS.open({ app }))',
             to_json(p_executor), p_name, p_version));
  end if;
  select a.code_hash into v_old from tableos.app a where a.name = p_name and a.version = p_version
     for update;
  insert into tableos.app as a (name, version, code_hash, last_executor_id)
  values (p_name, p_version, p_code_hash, p_executor)
  on conflict (name, version) do update
    set code_hash = excluded.code_hash, last_seen_at = clock_timestamp(),
        last_executor_id = excluded.last_executor_id;
  delete from tableos.app_function f where f.app = p_name and f.version = p_version;
  insert into tableos.app_function (app, version, kind, name, input_schema, output_schema, detail)
  select p_name, p_version, f->>'kind', f->>'name',
         nullif(f->'input_schema', 'null'::jsonb), nullif(f->'output_schema', 'null'::jsonb),
         nullif(f->'detail', 'null'::jsonb)
    from jsonb_array_elements(p_functions) f;
  return query select a.first_seen_at, v_old is not null and v_old <> p_code_hash
                 from tableos.app a where a.name = p_name and a.version = p_version;
end;
$$;

-- wf_claim (0010), claiming only runs of the claiming executor's app version.
create or replace function tableos.wf_claim(p_executor text, p_names text[], p_ids text[], p_limit integer)
returns table (id text, name text, status text, input text, deadline timestamptz,
               recovery_attempts integer)
language plpgsql as $$
declare
  r record;
  v_over text[] := '{}';
  v_app text;
  v_version text;
begin
  perform tableos.executor_reap();
  select e.app_name, e.app_version into v_app, v_version from tableos.executor e where e.id = p_executor;
  for r in
    with c as (
      select w.id from tableos.workflow w
       where w.status = 'pending'
         and w.name = any(p_names)
         and (p_ids is null or w.id = any(p_ids))
         and (w.app_version is null or (w.app_name = v_app and w.app_version = v_version))
         and (w.executor_id is null or not exists
               (select 1 from tableos.executor e where e.id = w.executor_id and e.status = 'alive'))
       order by w.created_at
       limit p_limit
       for update of w skip locked
    )
    update tableos.workflow w
       set executor_id = p_executor,
           recovery_attempts = w.recovery_attempts + 1,
           status = case when w.recovery_attempts + 1 > w.max_recovery_attempts
                         then 'max_recovery_exceeded' else 'pending' end,
           error = case when w.recovery_attempts + 1 > w.max_recovery_attempts
                        then tableos.wf_error_json('WorkflowRecoveryLimitError', 'TABLEOS_WORKFLOW_RECOVERY_LIMIT',
                               format('workflow %s was recovered %s times, its cap; its executor kept dying while running it. Fix the cause, then resume it.',
                                      w.id, w.max_recovery_attempts))
                        else w.error end,
           updated_at = clock_timestamp()
      from c where w.id = c.id
    returning w.id, w.name, w.status, w.input, w.deadline, w.recovery_attempts
  loop
    if r.status = 'max_recovery_exceeded' then
      v_over := v_over || r.id;
    end if;
    id := r.id; name := r.name; status := r.status; input := r.input;
    deadline := r.deadline; recovery_attempts := r.recovery_attempts;
    return next;
  end loop;
  perform tableos.wf_announce(v_over, array_fill('max_recovery_exceeded'::text, array[cardinality(v_over)]));
end;
$$;

-- wf_take (0010), taking only a run of this executor's app version; an enqueued run with no
-- version yet takes the version of the executor that starts running it.
create or replace function tableos.wf_take(p_id text, p_executor text)
returns table (id text, name text, status text, input text, deadline timestamptz, executor_id text)
language plpgsql as $$
declare
  v_app text;
  v_version text;
begin
  perform tableos.executor_reap();
  select e.app_name, e.app_version into v_app, v_version from tableos.executor e where e.id = p_executor;
  return query
  update tableos.workflow w
     set status = 'pending', executor_id = p_executor, updated_at = clock_timestamp(),
         app_name = case when w.app_version is null and w.status = 'enqueued' then v_app else w.app_name end,
         app_version = case when w.app_version is null and w.status = 'enqueued' then v_version else w.app_version end
   where w.id = p_id
     and (w.app_version is null or (w.app_name = v_app and w.app_version = v_version))
     and (w.status = 'enqueued'
          or (w.status = 'pending' and (w.executor_id is null or w.executor_id = p_executor or not exists
               (select 1 from tableos.executor e where e.id = w.executor_id and e.status = 'alive'))))
  returning w.id, w.name, w.status, w.input, w.deadline, w.executor_id;
  if not found then
    return query select w.id, w.name, w.status, w.input, w.deadline, w.executor_id
                   from tableos.workflow w where w.id = p_id;
  end if;
end;
$$;

-- Pending runs of an app version that no live executor runs: nobody will resume them until
-- a node of that version starts, or wf_move_version moves them to another version. An
-- executor whose lease ran out counts as gone before anyone reaped it.
create view tableos.wf_stranded as
  select w.id, w.name, w.app_name, w.app_version, w.executor_id, w.created_at, w.updated_at
    from tableos.workflow w
   where w.status = 'pending' and w.app_version is not null
     and not exists (select 1 from tableos.executor e
                      where e.status = 'alive' and e.lease_until >= clock_timestamp()
                        and e.app_name = w.app_name and e.app_version = w.app_version);

comment on view tableos.wf_stranded is
  'Pending runs whose app version runs on no live executor: resume them with tableos wf resume <id> --version V.';

-- Moves a run to version p_version of its app, on purpose (the version must have been
-- deployed), recording the version it had; a stopped run (cancelled, error, over its cap) is
-- made pending again as wf_resume does. A run going on at a live executor is refused: it is
-- not stranded. Returns the version the run had.
create function tableos.wf_move_version(p_id text, p_version text) returns text
language plpgsql as $$
declare
  v tableos.workflow;
  v_live text;
begin
  v := tableos.wf_require(p_id);
  if v.app_name is null then
    perform tableos.raise_error('TABLEOS_WORKFLOW_BAD_ARGUMENT',
      format('workflow %s was not started by an app, so it has no version to move; any executor with its code resumes it', to_json(p_id)));
  end if;
  if v.status = 'success' then
    perform tableos.raise_error('TABLEOS_WORKFLOW_FINISHED',
      format('workflow %s already finished successfully; there is nothing to move', to_json(p_id)));
  end if;
  if not exists (select 1 from tableos.app a where a.name = v.app_name and a.version = p_version) then
    perform tableos.raise_error('TABLEOS_APP_VERSION_UNKNOWN',
      format('app %s has no version %s: deployed versions are %s', v.app_name, to_json(p_version),
             coalesce((select string_agg(a.version, ', ' order by a.version) from tableos.app a
                        where a.name = v.app_name), 'none')));
  end if;
  perform tableos.executor_reap();
  select e.id into v_live from tableos.executor e
   where v.status = 'pending' and e.id = v.executor_id and e.status = 'alive';
  if found then
    perform tableos.raise_error('TABLEOS_WORKFLOW_CONFLICT',
      format('workflow %s is running on live executor %s (app %s version %s); it is not stranded, so it stays on its version',
             to_json(p_id), v_live, v.app_name, v.app_version));
  end if;
  update tableos.workflow w
     set app_version = p_version, version_moved_from = v.app_version,
         version_moved_at = clock_timestamp(), updated_at = clock_timestamp(),
         status = 'pending',
         executor_id = case when w.status = 'pending' then w.executor_id end,
         error = case when w.status = 'pending' then w.error end,
         recovery_attempts = case when w.status = 'pending' then w.recovery_attempts else 0 end,
         deadline = case when w.status = 'pending' then w.deadline end
   where w.id = p_id;
  perform tableos.wf_announce(array[p_id], array['pending']);
  return v.app_version;
end;
$$;
