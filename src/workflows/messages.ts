// ctx.send and ctx.recv: messaging inside workflows, exactly once, each one statement. A send
// commits with its checkpoint (and carries an idempotency id); a receive consumes the message
// in the transaction that records it, so a crash never loses or duplicates one.
import { QueryError } from '../kernel/errors.js';
import { faultPoint } from '../kernel/fault.js';
import { PG } from '../kernel/pg-codes.js';
import {
  checkId,
  checkMailbox,
  checkTimeout,
  checkTopic,
  encodeBody,
} from '../messaging/validate.js';
import { channelFor } from '../messaging/workflow.js';
import type { Message } from '../messaging/queries.js';
import { waitOn, waitPosition } from './durable-wait.js';
import { WorkflowArgumentError } from './errors.js';
import { replayValue } from './history.js';
import { loadRecorded } from './procedure-call.js';
import type { OperationRow, RunState } from './run-state.js';
import { deserialize } from './serialize.js';

export interface WorkflowSendOptions {
  topic?: string;
}

export interface WorkflowRecvOptions {
  topic?: string;
  /** How long to wait for a message (default 60 s); the deadline survives restarts. */
  timeoutMs?: number;
}

/** A workflow's mailbox is named by its id. */
export function workflowMailbox(workflowId: string): string {
  try {
    return checkMailbox(workflowId);
  } catch (cause) {
    throw new WorkflowArgumentError(
      `workflow id ${JSON.stringify(workflowId)} cannot name a mailbox (1-128 letters, digits and . _ : @ / -); use such an id for workflows that send or receive`,
      { cause },
    );
  }
}

/** The recorded output of a send (it returns nothing). */
const SENT = 'null';

export async function workflowSend(
  run: RunState,
  to: string | readonly string[],
  body: unknown,
  opts: WorkflowSendOptions = {},
): Promise<void> {
  const from = workflowMailbox(run.workflowId);
  const receivers = (typeof to === 'string' ? [to] : [...to]).map(checkMailbox);
  const topic = checkTopic(opts.topic);
  const name = receivers.join(',');
  const seq = run.history.next();
  if (run.history.replayed(seq, 'send', name)) return;
  run.checkLive();
  const started = new Date();
  let text: string;
  let id: string | undefined;
  try {
    text = encodeBody(body);
    // Unique per run and position: a replayed send is a no-op in the mailbox as well.
    id = checkId(`${run.workflowId}:${seq}`);
  } catch (err) {
    await run.recordFailure(seq, 'send', name, err, started);
    throw err;
  }
  let row: OperationRow | undefined;
  try {
    row = await run.operation(
      'wf_send',
      '$13::text, $14::int, $15::text, $16::text, $17::timestamptz, $18::text[], $19::text, $20::text, $21::text, $22::text',
      [run.workflowId, seq, name, SENT, started, receivers, from, topic ?? null, id, text],
      () => faultPoint('workflows:procedure-committed'),
    );
  } catch (err) {
    if (err === run.history.fatal || run.databaseLost) throw err;
    await run.recordFailure(seq, 'send', name, err, started);
    throw err;
  }
  // Recorded already (a lost answer's first attempt, or another run): sent then, not again.
  if (row?.rkind === 'recorded') run.adopted(row, 'send', name);
}

export async function workflowRecv<T>(
  run: RunState,
  opts: WorkflowRecvOptions = {},
): Promise<T | undefined> {
  const mailbox = workflowMailbox(run.workflowId);
  const topic = checkTopic(opts.topic);
  const timeoutMs = checkTimeout(opts.timeoutMs ?? 60_000, 'recv timeout') as number;
  const channel = channelFor(mailbox);
  // The wait's deadline is buffered here and written by the first attempt's statement.
  const { deadline, record } = waitPosition(run, channel, timeoutMs);
  record();
  const name = topic ?? '*';
  const seq = run.history.next();
  const rec = run.history.replayed(seq, 'recv', name);
  if (rec) return bodyOf<T>(replayValue(rec));
  run.checkLive();
  const started = new Date();
  const attempt = async (final: boolean): Promise<{ value: unknown } | undefined> => {
    let row: OperationRow | undefined;
    try {
      row = await run.operation(
        'wf_recv',
        '$13::text, $14::int, $15::text, $16::timestamptz, $17::text, $18::text, $19::boolean',
        [run.workflowId, seq, name, started, mailbox, topic ?? null, final],
        () => faultPoint('workflows:procedure-committed'),
      );
    } catch (err) {
      if (err === run.history.fatal || run.databaseLost) throw err;
      if (isCallConflict(err)) {
        // Another run of this workflow recorded this position first; its result stands.
        return { value: replayValue(await loadRecorded(run, seq, 'recv', name)) };
      }
      await run.recordFailure(seq, 'recv', name, err, started);
      throw err;
    }
    if (row === undefined || row.rkind === 'none') return undefined;
    if (row.rkind === 'recorded') return { value: run.adopted(row, 'recv', name) };
    return { value: deserialize(row.output) };
  };
  // The common case, a message already there, is this one statement.
  const got =
    (await attempt(Date.now() >= deadline)) ??
    (await waitOn(run, channel, deadline, () => attempt(false))) ??
    (await attempt(true));
  return bodyOf<T>(got?.value);
}

function bodyOf<T>(recorded: unknown): T | undefined {
  return (recorded as Message<T> | undefined)?.body;
}

/** The recv's own insert met a position recorded meanwhile by another run of the workflow. */
function isCallConflict(err: unknown): boolean {
  if (!(err instanceof QueryError) || err.sqlState !== PG.uniqueViolation) return false;
  return (
    (err.cause as { constraint_name?: string } | undefined)?.constraint_name ===
    'workflow_call_pkey'
  );
}
