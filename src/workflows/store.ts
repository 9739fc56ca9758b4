// The hot path to the database: starts and checkpoints go through group-commit batchers,
// so concurrent workflows share one statement (one round trip, one commit) per batch.
import type { Sql } from '../kernel/database.js';
import { queryRows } from '../kernel/query.js';
import { Batcher } from '../kernel/batcher.js';
import { faultPoint } from '../kernel/fault.js';

export interface StartItem {
  id: string;
  name: string;
  input: string | null;
  status: 'pending' | 'enqueued';
  parent: string | null;
  parentSeq: number | null;
  timeoutMs: number | null;
  maxRecovery: number;
  /** W3C traceparent of the span the run starts under (null: not traced). */
  trace: string | null;
}

/** For created runs only id, deadline and created are filled in. */
export interface StartResult {
  id: string;
  name: string | null;
  status: string | null;
  executor_id: string | null;
  output: string | null;
  error: string | null;
  deadline: Date | null;
  created: boolean;
}

export interface CallRecord {
  workflowId: string;
  seq: number;
  kind: string;
  name: string;
  output: string | null;
  error: string | null;
  startedAt: Date | null;
}

export interface FinishRecord {
  id: string;
  status: 'success' | 'error';
  output: string | null;
  error: string | null;
}

/** A start combined with the run's first checkpoint: generated id, no parent, no timeout. */
export interface DeferredStart {
  id: string;
  name: string;
  input: string | null;
  maxRecovery: number;
}

export type CommitItem = { start: DeferredStart } | { call: CallRecord } | { finish: FinishRecord };

interface CommitRow {
  rkind: 'conflict' | 'finish';
  workflow_id: string;
  seq: number | null;
  kind: string | null;
  name: string;
  output: string | null;
  error: string | null;
  status: string | null;
}

/** For a call: the row already recorded at its position, if another run got there first. For a finish: the row as it is, if the finish did not apply. */
export type CommitResult = CommitRow | undefined;

const START_SQL =
  'select * from tableos.wf_start($1::text[], $2::text[], $3::text[], $4::text[], $5::text, $6::text[], $7::int[], $8::bigint[], $9::int[], $10::text[])';
const COMMIT_SQL =
  'select * from tableos.wf_commit($1::text, $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]::timestamptz[], $13::text[], $14::text[], $15::text[], $16::text[])';

/**
 * The leading arguments of a statement that carries a run's buffered checkpoints (a held-back
 * start, calls) as tableos.wf_carry takes them; the operation's own arguments follow from $13.
 */
export const CARRIED_ARGS =
  '$1::text, $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]::timestamptz[]';

/** The parameters for CARRIED_ARGS. */
export function carriedParams(
  executorId: string | null,
  start: DeferredStart | undefined,
  calls: readonly CallRecord[],
): unknown[] {
  const starts = start ? [start] : [];
  return [
    executorId,
    starts.map((s) => s.id),
    starts.map((s) => s.name),
    starts.map((s) => s.input),
    starts.map((s) => s.maxRecovery),
    ...callColumns(calls),
  ];
}

function callColumns(calls: readonly CallRecord[]): unknown[] {
  return [
    calls.map((c) => c.workflowId),
    calls.map((c) => c.seq),
    calls.map((c) => c.kind),
    calls.map((c) => c.name),
    calls.map((c) => c.output),
    calls.map((c) => c.error),
    calls.map((c) => c.startedAt?.toISOString() ?? null),
  ];
}

export class Store {
  readonly starts: Batcher<StartItem, StartResult>;
  readonly commits: Batcher<CommitItem, CommitResult>;

  constructor(
    private readonly sql: Sql,
    readonly executorId: () => string | null,
    opts: {
      maxInFlight: number;
      maxBatch: number;
      /** Runs a statement again after a lost connection (both statements are safe to repeat). */
      retry: <T>(what: string, op: () => Promise<T>) => Promise<T>;
    },
  ) {
    const { retry, ...sizes } = opts;
    this.starts = Batcher.of((items) => this.flushStarts(items), {
      ...sizes,
      retry: (op) => retry('tableos.wf_start', op),
    });
    this.commits = Batcher.of((items) => this.flushCommits(items), {
      ...sizes,
      retry: (op) => retry('tableos.wf_commit', op),
    });
  }

  private async flushStarts(items: StartItem[]): Promise<StartResult[]> {
    const params = [
      items.map((i) => i.id),
      items.map((i) => i.name),
      items.map((i) => i.input),
      items.map((i) => i.status),
      this.executorId(),
      items.map((i) => i.parent),
      items.map((i) => i.parentSeq),
      items.map((i) => i.timeoutMs),
      items.map((i) => i.maxRecovery),
      items.map((i) => i.trace),
    ];
    const rows = await queryRows<StartResult>(this.sql, 'tableos.wf_start', START_SQL, params);
    faultPoint('workflows:start-batch-committed');
    const byId = new Map(rows.map((r) => [r.id, r]));
    // The same id twice in one batch: only the first caller created it.
    const seen = new Set<string>();
    return items.map((i) => {
      const r = byId.get(i.id) as StartResult;
      if (seen.has(i.id)) return { ...r, created: false };
      seen.add(i.id);
      return r;
    });
  }

  private async flushCommits(items: CommitItem[]): Promise<CommitResult[]> {
    const starts: DeferredStart[] = [];
    const calls: CallRecord[] = [];
    const fins: FinishRecord[] = [];
    for (const it of items) {
      if ('call' in it) calls.push(it.call);
      else if ('finish' in it) fins.push(it.finish);
      else starts.push(it.start);
    }
    const params = [
      this.executorId(),
      starts.map((s) => s.id),
      starts.map((s) => s.name),
      starts.map((s) => s.input),
      starts.map((s) => s.maxRecovery),
      ...callColumns(calls),
      fins.map((f) => f.id),
      fins.map((f) => f.status),
      fins.map((f) => f.output),
      fins.map((f) => f.error),
    ];
    const rows = await queryRows<CommitRow>(this.sql, 'tableos.wf_commit', COMMIT_SQL, params);
    faultPoint('workflows:commit-batch-committed');
    if (rows.length === 0) return items.map(() => undefined);
    const conflicts = new Map<string, CommitRow>();
    const finished = new Map<string, CommitRow>();
    for (const r of rows) {
      if (r.rkind === 'conflict') conflicts.set(`${r.workflow_id}/${r.seq}`, r);
      else finished.set(r.workflow_id, r);
    }
    return items.map((it) =>
      'call' in it
        ? conflicts.get(`${it.call.workflowId}/${it.call.seq}`)
        : 'finish' in it
          ? finished.get(it.finish.id)
          : undefined,
    );
  }
}
