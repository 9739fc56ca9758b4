// Row shapes of the workflow tables and their public, decoded forms.
import { deserialize, deserializeError } from './serialize.js';
import type { Outcome, WorkflowStatus } from './types.js';

export interface WorkflowRow {
  id: string;
  name: string;
  status: WorkflowStatus;
  input: string | null;
  output: string | null;
  error: string | null;
  executor_id: string | null;
  parent_id: string | null;
  forked_from: string | null;
  recovery_attempts: number;
  max_recovery_attempts: number;
  deadline: Date | null;
  created_at: Date;
  updated_at: Date;
  app_name: string | null;
  app_version: string | null;
  version_moved_from: string | null;
  version_moved_at: Date | null;
}

export interface CallRow {
  workflow_id: string;
  seq: number;
  kind: string;
  name: string;
  output: string | null;
  error: string | null;
  started_at: Date | null;
  ended_at: Date;
}

export interface WorkflowInfo {
  id: string;
  name: string;
  status: WorkflowStatus;
  input: unknown[];
  output: unknown;
  error: Error | undefined;
  executorId: string | null;
  parentId: string | null;
  forkedFrom: string | null;
  recoveryAttempts: number;
  deadline: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** The app and version that started the run (null for in-process code without an app). */
  appName: string | null;
  appVersion: string | null;
  /** The version the run had before it was moved on purpose (wf resume --version), and when. */
  versionMovedFrom: string | null;
  versionMovedAt: Date | null;
}

export interface CallInfo {
  seq: number;
  kind: string;
  name: string;
  /** 'success' or 'error', from whether an error was recorded. */
  status: 'success' | 'error';
  output: unknown;
  error: Error | undefined;
  startedAt: Date | null;
  endedAt: Date;
  durationMs: number | null;
}

export function toInfo(r: WorkflowRow): WorkflowInfo {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    input: (deserialize(r.input) as unknown[] | undefined) ?? [],
    output: deserialize(r.output),
    error: r.error === null ? undefined : deserializeError(r.error),
    executorId: r.executor_id,
    parentId: r.parent_id,
    forkedFrom: r.forked_from,
    recoveryAttempts: r.recovery_attempts,
    deadline: r.deadline,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    appName: r.app_name ?? null,
    appVersion: r.app_version ?? null,
    versionMovedFrom: r.version_moved_from ?? null,
    versionMovedAt: r.version_moved_at ?? null,
  };
}

export function toCallInfo(c: CallRow): CallInfo {
  return {
    seq: c.seq,
    kind: c.kind,
    name: c.name,
    status: c.error === null ? 'success' : 'error',
    output: deserialize(c.output),
    error: c.error === null ? undefined : deserializeError(c.error),
    startedAt: c.started_at,
    endedAt: c.ended_at,
    durationMs: c.started_at === null ? null : c.ended_at.getTime() - c.started_at.getTime(),
  };
}

/** The outcome stored in a finished row. */
export function rowOutcome(r: {
  status: string;
  output: string | null;
  error: string | null;
}): Outcome {
  if (r.status === 'success') return { status: 'success', value: deserialize(r.output) };
  return {
    status: r.status as Exclude<WorkflowStatus, 'success' | 'pending' | 'enqueued'>,
    error: deserializeError(r.error),
  };
}

/** Recorded calls as tableos.wf_calls_json gives them (a JSON array of rows), by position. */
export function callsFromJson(json: unknown): Map<number, CallRow> {
  const out = new Map<number, CallRow>();
  if (!Array.isArray(json)) return out;
  for (const r of json as (Omit<CallRow, 'started_at' | 'ended_at'> & {
    started_at: string | null;
    ended_at: string;
  })[]) {
    out.set(r.seq, {
      ...r,
      started_at: r.started_at === null ? null : new Date(r.started_at),
      ended_at: new Date(r.ended_at),
    });
  }
  return out;
}
