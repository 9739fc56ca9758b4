// ctx.send and ctx.recv: messaging inside workflows, exactly once. A send commits with its
// checkpoint (and carries an idempotency id); a receive consumes the message in the same
// transaction that records it, so a crash never loses or duplicates one.
import type { Sql } from '../kernel/database.js';
import { runQuery } from '../kernel/query.js';
import { MailboxNotFoundError } from '../messaging/errors.js';
import { checkMailbox, checkTimeout, checkTopic } from '../messaging/validate.js';
import { channelFor, consumeInTx, sendInTx } from '../messaging/workflow.js';
import type { WorkflowContext } from './context.js';
import { WorkflowArgumentError } from './errors.js';

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

export async function workflowSend(
  ctx: WorkflowContext,
  to: string | readonly string[],
  body: unknown,
  opts: WorkflowSendOptions = {},
): Promise<void> {
  const from = workflowMailbox(ctx.workflowId);
  const receivers = typeof to === 'string' ? [to] : [...to];
  receivers.forEach(checkMailbox);
  const topic = checkTopic(opts.topic);
  // Unique per run and position: a replayed send is a no-op in the mailbox as well.
  const id = `${ctx.workflowId}:${ctx.nextSeq}`;
  await ctx.transactionalCall('send', receivers.join(','), async (tx) => {
    await sendInTx(tx, receivers, body, { from, id, topic });
    return null;
  });
}

export async function workflowRecv<T>(
  ctx: WorkflowContext,
  sql: Sql,
  opts: WorkflowRecvOptions = {},
): Promise<T | undefined> {
  const mailbox = workflowMailbox(ctx.workflowId);
  const topic = checkTopic(opts.topic);
  const timeoutMs = checkTimeout(opts.timeoutMs ?? 60_000, 'recv timeout') as number;
  await ctx.durableWait({
    channel: channelFor(mailbox),
    timeoutMs,
    ready: () => hasMessage(sql, mailbox, topic),
  });
  const msg = await ctx.transactionalCall('recv', topic ?? '*', (tx) =>
    consumeInTx<T>(tx, mailbox, { topic }),
  );
  return msg?.body;
}

async function hasMessage(sql: Sql, mailbox: string, topic: string | undefined): Promise<boolean> {
  const params = [mailbox, topic ?? null, 1];
  try {
    const rows = await runQuery(
      'tableos.msg_peek',
      params,
      () => sql`select 1 from tableos.msg_peek(${mailbox}, ${topic ?? null}, 1)`,
    );
    return rows.length > 0;
  } catch (err) {
    // Nothing has been sent to this workflow yet.
    if (err instanceof MailboxNotFoundError) return false;
    throw err;
  }
}
