// Hooks for reliable execution: messaging inside a caller's transaction, so a workflow's
// send or receive commits together with its checkpoint.
import crypto from 'node:crypto';
import type { TransactionSql } from '../kernel/database.js';
import { sendRows, takeMessages, type Message } from './queries.js';
import { checkId, checkMailbox, checkTopic, encodeBody } from './validate.js';

/** The NOTIFY channel of a mailbox (same as SQL tableos.msg_channel(name)); a waiter LISTENs on it. */
export function channelFor(mailbox: string): string {
  return `tableos_msg_${crypto.createHash('md5').update(mailbox).digest('hex')}`;
}

/**
 * Consumes the oldest message of mailbox (of topic, if given) inside tx. It is gone only if tx
 * commits; if tx rolls back or its process dies, the message is there for the next attempt.
 * Returns undefined when there is none (also when the mailbox does not exist yet).
 */
export async function consumeInTx<T = unknown>(
  tx: TransactionSql,
  mailbox: string,
  opts: { topic?: string | undefined } = {},
): Promise<Message<T> | undefined> {
  checkMailbox(mailbox);
  const topic = checkTopic(opts.topic);
  const [got] = await takeMessages(tx, [{ mailbox, topic, limit: 1, leaseMs: undefined }]);
  return got === 'missing' || got === undefined ? undefined : (got[0] as Message<T> | undefined);
}

/**
 * Sends inside tx. With an id, a replay of the same (from, id) is a no-op, even after the
 * first message was consumed; returns false then.
 */
export async function sendInTx(
  tx: TransactionSql,
  to: string | readonly string[],
  body: unknown,
  opts: { from: string; id?: string | undefined; topic?: string | undefined },
): Promise<boolean> {
  const receivers = (typeof to === 'string' ? [to] : to).map(checkMailbox);
  const row = {
    sender: checkMailbox(opts.from),
    topic: checkTopic(opts.topic),
    id: checkId(opts.id),
    corr: undefined,
    body: encodeBody(body),
  };
  const seqs = await sendRows(
    tx,
    receivers.map((receiver) => ({ ...row, receiver })),
  );
  return seqs.some((s) => s !== undefined);
}
