// Procedures: a function run in one Postgres transaction that also records its result at
// the call's position, so the effect and its checkpoint commit together.
import type { TransactionSql } from '../kernel/database.js';
import { DatabaseUnavailableError } from '../kernel/errors.js';
import { faultPoint } from '../kernel/fault.js';
import { endSpan, startCallSpan } from '../kernel/tracing.js';
import { PG, pgCode } from '../kernel/pg-codes.js';
import { WorkflowConflictError } from './errors.js';
import { replayValue } from './history.js';
import type { CallRow } from './rows.js';
import type { RunState } from './run-state.js';
import { serialize } from './serialize.js';
import type { Isolation } from './types.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs fn in one transaction that also inserts its result at the next position: a re-run
 * returns the recorded result and writes nothing. Serialization failures and deadlocks are
 * retried with jittered backoff; any other failure is recorded at the position and thrown.
 */
export async function transactionalCall<R>(
  run: RunState,
  kind: string,
  name: string,
  fn: (tx: TransactionSql) => Promise<R>,
  opts: { isolation?: Isolation; maxRetries?: number } = {},
): Promise<R> {
  const seq = run.history.next();
  const rec = run.history.replayed(seq, kind, name);
  if (rec) return replayValue(rec) as R;
  run.checkLive();
  await run.checkpoints.flush();
  const span = startCallSpan(run.trace, kind, name, seq);
  try {
    const value = await attempts(run, kind, name, seq, fn, opts);
    endSpan(span);
    return value;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

/** Runs the transaction, again after a serialization failure or deadlock, and records it. */
async function attempts<R>(
  run: RunState,
  kind: string,
  name: string,
  seq: number,
  fn: (tx: TransactionSql) => Promise<R>,
  opts: { isolation?: Isolation; maxRetries?: number },
): Promise<R> {
  const iso = opts.isolation ?? 'read committed';
  const maxRetries = opts.maxRetries ?? 10;
  for (let attempt = 0; ; attempt++) {
    const started = new Date();
    try {
      // After a lost connection the transaction runs again; if the first one did commit,
      // its recorded position makes this one fail on workflow_call_pkey and roll back.
      return await run.db(`${kind} ${name}`, async () => {
        const v = (await run.rt.sql.begin(`isolation level ${iso}`, async (tx) => {
          const v = await fn(tx);
          const output = serialize(v, `result of ${kind} ${name}`);
          await tx`insert into tableos.workflow_call (workflow_id, seq, kind, name, output, started_at)
                   values (${run.workflowId}, ${seq}, ${kind}, ${name}, ${output}, ${started})`;
          return v;
        })) as R;
        faultPoint('workflows:procedure-committed');
        run.rt.metrics.observeCall(kind, started);
        return v;
      });
    } catch (err) {
      if (err instanceof DatabaseUnavailableError) throw err;
      const code = pgCode(err);
      if (
        code === PG.uniqueViolation &&
        (err as { constraint_name?: string }).constraint_name === 'workflow_call_pkey'
      ) {
        // Another run of this workflow committed this position first; its result stands.
        return replayValue(await loadRecorded(run, seq, kind, name)) as R;
      }
      if (
        (code === PG.serializationFailure || code === PG.deadlockDetected) &&
        attempt < maxRetries
      ) {
        await sleep(Math.min(1000, 5 * 2 ** attempt) * (0.5 + Math.random()));
        continue;
      }
      await run.recordFailure(seq, kind, name, err, started);
      throw err;
    }
  }
}

/** The call recorded at seq by another run (or a lost first attempt), checked against this call. */
export async function loadRecorded(
  run: RunState,
  seq: number,
  kind: string,
  name: string,
): Promise<CallRow> {
  const [row] = await run.db(
    'tableos.workflow_call',
    () => run.rt.sql<CallRow[]>`
      select * from tableos.workflow_call where workflow_id = ${run.workflowId} and seq = ${seq}`,
  );
  if (row === undefined)
    throw new WorkflowConflictError(`position ${seq} of workflow ${run.workflowId} vanished`);
  return run.history.adopt(row, kind, name);
}
