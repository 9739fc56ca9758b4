// The messaging statements: each operation is one procedure call, batches passed as arrays.
import type { Sql, TransactionSql } from '../kernel/database.js';
import type { OnceTokens } from '../kernel/once.js';
import { queryRows } from '../kernel/query.js';
import './errors.js'; // registers the codes the procedures raise

/** A message as a receiver gets it. */
export interface Message<T = unknown> {
  /** The receiving mailbox. */
  mailbox: string;
  /** Position in the order of sending; acks name a message by (mailbox, seq). */
  seq: number;
  /** The sender's mailbox name. */
  sender: string;
  topic: string | undefined;
  /** The id the sender gave (its idempotency key), if any. */
  id: string | undefined;
  /** For replies: the correlation id of the request. */
  corr: string | undefined;
  body: T;
  sentAt: Date;
  /** 1 on first delivery; more when a lease ran out and the message came back. */
  deliveries: number;
}

export interface MessageRow {
  receiver: string;
  seq: string;
  sender: string;
  topic: string;
  id: string | null;
  corr: string | null;
  body: unknown;
  sent_at: Date;
  deliveries: number;
}

export function toMessage<T>(r: MessageRow): Message<T> {
  return {
    mailbox: r.receiver,
    seq: Number(r.seq),
    sender: r.sender,
    topic: r.topic === '' ? undefined : r.topic,
    id: r.id ?? undefined,
    corr: r.corr ?? undefined,
    body: r.body as T,
    sentAt: r.sent_at,
    deliveries: r.deliveries,
  };
}

export interface SendRow {
  receiver: string;
  sender: string;
  topic: string | undefined;
  id: string | undefined;
  corr: string | undefined;
  body: string;
}

export interface Ack {
  mailbox: string;
  seq: number;
}

type Runner = Sql | TransactionSql;

const run = <T>(sql: Runner, name: string, text: string, params: unknown[]): Promise<T[]> =>
  queryRows<T>(sql, name, text, params);

const SEND_ARGS =
  '$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[]';
const SEND = `select ord, seq from tableos.msg_send(${SEND_ARGS})`;
const SEND_ONCE = `select ord, seq from tableos.msg_send_once($9::uuid, $10::uuid[], ${SEND_ARGS})`;

/** The token parameters of a statement run once, after its own parameters. */
const onceParams = (once: OnceTokens | undefined): unknown[] =>
  once === undefined ? [] : [once.token, once.forget];

/**
 * Sends rows (and deletes acked messages) in one transaction; per row the seq, or undefined if
 * a duplicate. With once tokens, a second run of the same statement returns the first's seqs.
 */
export async function sendRows(
  sql: Runner,
  rows: readonly SendRow[],
  acks: readonly Ack[] = [],
  once?: OnceTokens,
): Promise<(number | undefined)[]> {
  const name = once === undefined ? 'tableos.msg_send' : 'tableos.msg_send_once';
  const text = once === undefined ? SEND : SEND_ONCE;
  const out = await run<{ ord: number; seq: string | null }>(sql, name, text, [
    rows.map((r) => r.receiver),
    rows.map((r) => r.sender),
    rows.map((r) => r.topic ?? null),
    rows.map((r) => r.id ?? null),
    rows.map((r) => r.corr ?? null),
    rows.map((r) => r.body),
    acks.map((a) => a.mailbox),
    acks.map((a) => a.seq),
    ...onceParams(once),
  ]);
  const seqs: (number | undefined)[] = new Array<number | undefined>(rows.length);
  for (const o of out) seqs[o.ord - 1] = o.seq === null ? undefined : Number(o.seq);
  return seqs;
}

export interface TakeRequest {
  mailbox: string;
  topic: string | undefined;
  limit: number;
  /** Lease for at-least-once delivery; undefined consumes on read. */
  leaseMs: number | undefined;
}

const TAKE_ARGS = '$1::text[], $2::text[], $3::integer[], $4::integer[]';
const TAKE = `select * from tableos.msg_take(${TAKE_ARGS})`;
const TAKE_ONCE = `select * from tableos.msg_take_once($5::uuid, $6::uuid[], ${TAKE_ARGS})`;

/**
 * One statement for many receive requests; per request its messages in order, or 'missing'.
 * With once tokens, a second run of the same statement returns what the first one took.
 */
export async function takeMessages(
  sql: Runner,
  reqs: readonly TakeRequest[],
  once?: OnceTokens,
): Promise<(Message[] | 'missing')[]> {
  const rows = await run<MessageRow & { req: number; missing: boolean }>(
    sql,
    once === undefined ? 'tableos.msg_take' : 'tableos.msg_take_once',
    once === undefined ? TAKE : TAKE_ONCE,
    [
      reqs.map((r) => r.mailbox),
      reqs.map((r) => r.topic ?? null),
      reqs.map((r) => r.limit),
      reqs.map((r) => (r.leaseMs === undefined ? null : Math.ceil(r.leaseMs))),
      ...onceParams(once),
    ],
  );
  const out: (Message[] | 'missing')[] = reqs.map(() => []);
  for (const r of rows) {
    const i = r.req - 1;
    if (r.missing) out[i] = 'missing';
    else (out[i] as Message[]).push(toMessage(r));
  }
  for (const o of out) if (o !== 'missing') o.sort((a, b) => a.seq - b.seq);
  return out;
}

export async function ackMessages(sql: Runner, acks: readonly Ack[]): Promise<number> {
  const [row] = await run<{ n: string }>(
    sql,
    'tableos.msg_ack',
    'select tableos.msg_ack($1::text[], $2::bigint[]) as n',
    [acks.map((a) => a.mailbox), acks.map((a) => a.seq)],
  );
  return Number(row?.n ?? 0);
}
