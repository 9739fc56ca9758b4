// App versions of runs: the runs no live executor can resume (their version runs nowhere),
// and moving one to another version of its app on purpose.
import '../apps/errors.js';
import type { Sql } from '../kernel/database.js';
import { runQuery } from '../kernel/query.js';
import { WorkflowArgumentError } from './errors.js';
import { checkId } from './validate.js';

export interface StrandedRun {
  id: string;
  name: string;
  appName: string;
  appVersion: string;
  /** The executor it last ran on (dead or stopped). */
  executorId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface StrandedRow {
  id: string;
  name: string;
  app_name: string;
  app_version: string;
  executor_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const VERSION = /^[A-Za-z0-9._+-]{1,100}$/;

/** Pending runs whose app version runs on no live executor, oldest first. */
export async function strandedRuns(
  sql: Sql,
  opts: { limit?: number } = {},
): Promise<StrandedRun[]> {
  const limit = opts.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new WorkflowArgumentError('limit must be an integer from 1 to 10000');
  const rows = await runQuery(
    'tableos.wf_stranded',
    [limit],
    () => sql<StrandedRow[]>`
      select * from tableos.wf_stranded order by created_at, id limit ${limit}`,
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    appName: r.app_name,
    appVersion: r.app_version,
    executorId: r.executor_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
}

/**
 * Moves a run to another deployed version of its app (recorded in its row), making it
 * pending if it had stopped; an executor of that version resumes it. Returns the old version.
 */
export async function moveVersion(sql: Sql, id: string, version: string): Promise<string> {
  checkId(id);
  if (typeof version !== 'string' || !VERSION.test(version))
    throw new WorkflowArgumentError(
      `invalid app version ${JSON.stringify(version)}: use 1-100 letters, digits, . _ + -`,
    );
  const [row] = await runQuery(
    'tableos.wf_move_version',
    [id, version],
    () => sql<{ old: string }[]>`select tableos.wf_move_version(${id}, ${version}) as old`,
  );
  return row?.old ?? '';
}
