// Queued workflows: a run waiting on a queue is a workflow row ('enqueued') plus a task of
// kind tableos.workflow, written by one statement (sched_enqueue_workflow, which makes the
// run through the workflows service's wf_enqueue) so neither exists without the other.
// The scheduler places the task like any other; its handler runs the workflow by id, and the
// workflow's own checkpoints keep the run exactly-once even when the task is re-queued.
import crypto from 'node:crypto';
import type { Kernel } from '../kernel/kernel.js';
import type { Workflows } from '../workflows/service.js';
import { WorkflowArgumentError, WorkflowConflictError } from '../workflows/errors.js';
import { serialize } from '../workflows/serialize.js';
import { checkId, checkMs, checkName } from '../workflows/validate.js';
import { runQuery } from '../kernel/query.js';
import { retried } from './claims.js';
import type * as proc from './procedures.js';
import type { EnqueueOptions, TaskHandler } from './types.js';

export const WORKFLOW_TASK_KIND = 'tableos.workflow';

export interface QueuedWorkflowOptions extends Omit<EnqueueOptions, 'dedupKey' | 'idempotencyKey'> {
  /** The workflow id (idempotency key): enqueuing the same id again returns the same run. */
  id?: string;
  /** Deadline of the run, counted from when it is enqueued. */
  timeoutMs?: number;
}

/**
 * Writes the run and its task; returns the workflow id. The id is fixed before the first
 * attempt, so a retry after a lost answer finds the run that attempt made.
 */
export async function enqueueWorkflow(
  os: Kernel,
  queue: string,
  name: string,
  args: unknown[],
  opts: QueuedWorkflowOptions,
  toRow: (payload: unknown, o: EnqueueOptions) => proc.EnqueueRow,
): Promise<string> {
  checkName(name, 'workflow');
  if (!Array.isArray(args)) throw new WorkflowArgumentError('workflow arguments must be an array');
  const id = opts.id === undefined ? crypto.randomUUID() : checkId(opts.id);
  const timeoutMs = checkMs(opts.timeoutMs, 'timeoutMs') ?? null;
  const input = serialize(args, `arguments of workflow ${name}`);
  const { id: _id, timeoutMs: _t, ...taskOpts } = opts;
  // Retried elsewhere if a handler fails to start the run (e.g. not registered there).
  const row = toRow({ workflowId: id }, { maxAttempts: 3, ...taskOpts, dedupKey: id });
  const [started] = await retried(
    os,
    'tableos.sched_enqueue_workflow',
    () =>
      runQuery(
        'tableos.sched_enqueue_workflow',
        [queue, id, name],
        () =>
          os.sql<{ workflow_name: string | null; created: boolean }[]>`
          select workflow_name, created from tableos.sched_enqueue_workflow(
            ${id}, ${name}, ${input}, ${timeoutMs}, ${row.queue}, ${row.payload}::text::jsonb,
            ${row.priority}, ${row.runAt}::text::timestamptz, ${row.memoryMb}, ${row.localityKey},
            ${row.partitionKey}, ${row.maxAttempts})`,
      ),
    'scheduler:workflow-enqueue-committed',
  );
  // Not created: the same run, enqueued before, unless the id belongs to another workflow.
  if (started && !started.created && started.workflow_name !== name) {
    throw new WorkflowConflictError(
      `workflow id ${id} is already used by a run of ${started.workflow_name}`,
    );
  }
  return id;
}

/**
 * The handler of workflow tasks: runs (or resumes, or reports) the workflow by id here. A
 * lost connection is not the run's failure: running it by id again continues from its
 * checkpoints.
 */
export function workflowTaskHandler(os: Kernel, workflows: Workflows): TaskHandler {
  return async (payload: unknown) => {
    const { workflowId } = payload as { workflowId: string };
    const outcome = await retried(os, 'queued workflow', () => workflows.executeById(workflowId));
    return { workflowId, status: outcome.status };
  };
}
