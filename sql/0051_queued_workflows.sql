-- Queued workflows in one statement each. The workflows service owns its entry for an
-- enqueued run (wf_enqueue); the scheduler's sched_enqueue_workflow writes the run and its task
-- through it, in one round trip and so in one transaction.

create function tableos.wf_enqueue(p_id text, p_name text, p_input text, p_timeout_ms bigint)
returns table (name text, created boolean)
language sql as $$
  select s.name, s.created
    from tableos.wf_start(array[p_id], array[p_name], array[p_input], '{enqueued}', null,
                          '{NULL}', '{NULL}', array[p_timeout_ms], '{10}') s
$$;

create function tableos.sched_enqueue_workflow(
  p_workflow_id text, p_name text, p_input text, p_timeout_ms bigint,
  p_queue text, p_payload jsonb, p_priority integer, p_run_at timestamptz, p_memory_mb integer,
  p_locality text, p_partition_key text, p_max_attempts integer
) returns table (workflow_name text, created boolean, task_id bigint)
language plpgsql as $$
declare
  v_name text;
  v_created boolean;
  v_task bigint;
begin
  select e.name, e.created into v_name, v_created
    from tableos.wf_enqueue(p_workflow_id, p_name, p_input, p_timeout_ms) e;
  if not v_created then
    -- The same id enqueued before (or used by another workflow: the caller tells them apart).
    return query select v_name, false, null::bigint;
    return;
  end if;
  select q.id into v_task
    from tableos.sched_enqueue(array[p_queue], array['tableos.workflow'], array[p_payload],
                               array[p_priority], array[p_run_at], array[p_memory_mb],
                               array[p_locality], array[p_partition_key], array[p_workflow_id],
                               array[p_max_attempts]) q;
  return query select v_name, true, v_task;
end $$;
