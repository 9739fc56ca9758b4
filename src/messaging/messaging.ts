// The messaging service of one TableOS node: durable mailboxes with blocking receive.
import crypto from 'node:crypto';
import type { Sql } from '../kernel/database.js';
import { ClosedError, errorMessage } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';
import { Batcher } from './batcher.js';
import { BadOptionError, MailboxNotFoundError } from './errors.js';
import { Listener } from './listener.js';
import { expireMessages, mailboxStats, type MailboxStats } from './mailboxes.js';
import {
  ackMessages,
  mailboxError,
  sendRows,
  takeMessages,
  toMessage,
  type Ack,
  type Message,
  type MessageRow,
  type SendRow,
  type TakeRequest,
} from './queries.js';
import { Rpc, type CallOptions, type Handler, type ServeOptions, type Server } from './rpc.js';
import {
  checkCount,
  checkId,
  checkMailbox,
  checkTimeout,
  checkTopic,
  encodeBody,
} from './validate.js';
import { channelFor } from './workflow.js';

export type { MailboxStats } from './mailboxes.js';

export interface SendOptions {
  topic?: string | undefined;
  /** Idempotency key, unique per sender: a second send with the same id is a no-op. */
  id?: string | undefined;
  /** The sender's mailbox; default this process's address. */
  from?: string | undefined;
}

export interface SendResult {
  /** Seqs of the new messages, one per receiver; empty when the id had been sent before. */
  seqs: number[];
  duplicate: boolean;
}

export interface RecvOptions {
  /** Only messages of this topic; default any topic. */
  topic?: string | undefined;
  /** Wait at most this long (ms) for a message; default wait until one comes. */
  timeout?: number | undefined;
  /**
   * At-least-once: lease the message instead of consuming it; it comes back after leaseMs
   * unless acknowledged with ack(). Default: consume on read.
   */
  ack?: boolean | undefined;
  /** Lease length in ack mode (default 30 s). */
  leaseMs?: number | undefined;
}

export interface MailboxWatch {
  /**
   * Resolves true once a message was sent to the mailbox since the watch began (or may have
   * been: try again to take it), false after ms.
   */
  wait(ms: number): Promise<boolean>;
}

export interface MessagingOptions {
  /** This process's mailbox name, the sender of its messages and the reply address of its calls. */
  address?: string | undefined;
  /** Run the retention sweep this often (ms); 0 turns it off. */
  expireEveryMs?: number | undefined;
}

/** Waiting for notifications is the way to wake; this poll only covers lost ones and lease expiry. */
const POLL_MS = 5000;
const DEFAULT_LEASE_MS = 30_000;

export class Messaging {
  readonly address: string;
  private readonly listener: Listener;
  private readonly sender: Batcher<SendRow[] | null, (number | undefined)[]>;
  private readonly taker: Batcher<TakeRequest, Message[] | 'missing'>;
  private pendingAcks: Ack[] = [];
  private ackTimer: NodeJS.Timeout | undefined;
  private expireTimer: NodeJS.Timeout | undefined;
  private readonly rpc: Rpc;
  private closed = false;

  constructor(
    private readonly sql: Sql,
    newPool: () => Sql,
    private readonly log: Logger,
    opts: MessagingOptions = {},
  ) {
    this.address = checkMailbox(opts.address ?? `proc.${crypto.randomBytes(8).toString('hex')}`);
    this.listener = new Listener(newPool, log);
    this.sender = new Batcher((items) => this.runSends(items));
    this.taker = new Batcher((reqs) => takeMessages(this.sql, reqs));
    this.rpc = new Rpc(this, sql, newPool, this.listener, log);
    const every = opts.expireEveryMs ?? 0;
    if (every > 0) {
      this.expireTimer = setInterval(() => {
        this.expire().catch((err: unknown) =>
          this.log.warn({ err: errorMessage(err) }, 'message expiry failed'),
        );
      }, every);
      this.expireTimer.unref();
    }
  }

  /** Creates a mailbox (or sets its retention); sending to a new name also creates it. */
  async createMailbox(name: string, opts: { retentionMs?: number } = {}): Promise<void> {
    checkMailbox(name);
    const retention = checkTimeout(opts.retentionMs, 'retentionMs');
    this.check();
    await this
      .sql`select tableos.msg_create(${name}, ${retention === undefined ? null : Math.ceil(retention)})`;
  }

  send(to: string, body: unknown, opts: SendOptions = {}): Promise<SendResult> {
    return this.multicast([to], body, opts);
  }

  /** Sends one message to every receiver in one transaction: all of them get it, or none. */
  async multicast(
    to: readonly string[],
    body: unknown,
    opts: SendOptions = {},
  ): Promise<SendResult> {
    if (!Array.isArray(to) || to.length === 0 || to.length > 10_000) {
      throw new BadOptionError('multicast needs an array of 1 to 10000 receivers');
    }
    const receivers = to.map(checkMailbox);
    const row = {
      sender: checkMailbox(opts.from ?? this.address),
      topic: checkTopic(opts.topic),
      id: checkId(opts.id),
      corr: undefined,
      body: encodeBody(body),
    };
    this.check();
    const seqs = await this.sender.push(receivers.map((receiver) => ({ ...row, receiver })));
    const sent = seqs.filter((s): s is number => s !== undefined);
    return { seqs: sent, duplicate: sent.length === 0 };
  }

  /** Sends prepared rows through the group-commit queue (used by the RPC helper). */
  sendRaw(rows: SendRow[]): Promise<(number | undefined)[]> {
    this.check();
    return this.sender.push(rows);
  }

  /** Receives one message, waiting for it up to timeout; undefined when none came. */
  async recv<T = unknown>(
    mailbox: string,
    opts: RecvOptions = {},
  ): Promise<Message<T> | undefined> {
    const [m] = await this.recvBatch<T>(mailbox, 1, opts);
    return m;
  }

  /** Receives up to n messages in one statement, waiting (up to timeout) until at least one is there. */
  async recvBatch<T = unknown>(
    mailbox: string,
    n: number,
    opts: RecvOptions = {},
  ): Promise<Message<T>[]> {
    checkMailbox(mailbox);
    checkCount(n, 'n');
    const topic = checkTopic(opts.topic);
    const timeout = checkTimeout(opts.timeout);
    const leaseMs = opts.ack
      ? (checkTimeout(opts.leaseMs, 'leaseMs') ?? DEFAULT_LEASE_MS)
      : undefined;
    this.check();
    const channel = channelFor(mailbox);
    await this.listener.listen(channel);
    const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
    for (;;) {
      this.check();
      const gen = this.listener.generation(channel);
      const got = await this.taker.push({ mailbox, topic, limit: n, leaseMs });
      if (got === 'missing') throw new MailboxNotFoundError(mailbox);
      if (got.length > 0) return got as Message<T>[];
      const left = deadline - performance.now();
      if (left <= 0) return [];
      await this.listener.waitChange(channel, gen, Math.min(left, POLL_MS));
    }
  }

  /**
   * Watches a mailbox for new messages, for callers that take messages themselves (e.g. with
   * consumeInTx): make the watch, try to take, and if nothing came, await watch.wait(ms). A
   * message sent after the watch was made always ends the wait.
   */
  async watch(mailbox: string): Promise<MailboxWatch> {
    checkMailbox(mailbox);
    this.check();
    const channel = channelFor(mailbox);
    await this.listener.listen(channel);
    const gen = this.listener.generation(channel);
    return {
      wait: async (ms: number) => {
        checkTimeout(ms);
        await this.listener.waitChange(channel, gen, ms);
        return this.listener.generation(channel) !== gen;
      },
    };
  }

  /** The oldest waiting messages, left in place. */
  async peek<T = unknown>(
    mailbox: string,
    opts: { topic?: string | undefined; limit?: number | undefined } = {},
  ): Promise<Message<T>[]> {
    checkMailbox(mailbox);
    const topic = checkTopic(opts.topic);
    const limit = checkCount(opts.limit ?? 100, 'limit');
    this.check();
    try {
      const rows = await this.sql<
        MessageRow[]
      >`select * from tableos.msg_peek(${mailbox}, ${topic ?? null}, ${limit})`;
      return rows.map((r) => toMessage<T>(r));
    } catch (err) {
      throw mailboxError(err, mailbox);
    }
  }

  /** Acknowledges messages received in ack mode; returns how many were still waiting. */
  async ack(messages: readonly Pick<Message, 'mailbox' | 'seq'>[]): Promise<number> {
    this.check();
    if (messages.length === 0) return 0;
    return ackMessages(
      this.sql,
      messages.map((m) => ({ mailbox: checkMailbox(m.mailbox), seq: m.seq })),
    );
  }

  /** Counters per mailbox, or of one mailbox. */
  async stats(mailbox?: string): Promise<MailboxStats[]> {
    if (mailbox !== undefined) checkMailbox(mailbox);
    this.check();
    return mailboxStats(this.sql, mailbox);
  }

  /** Runs the retention sweep now; returns what expired, per mailbox. */
  expire(): Promise<{ mailbox: string; expired: number }[]> {
    this.check();
    return expireMessages(this.sql);
  }

  /** Request/response: sends request to service's mailbox and waits for the reply. */
  call<Res = unknown>(service: string, request: unknown, opts: CallOptions = {}): Promise<Res> {
    return this.rpc.call<Res>(service, request, opts);
  }

  /** Answers requests to service's mailbox with handler until the returned server is stopped. */
  serve<Req = unknown, Res = unknown>(
    service: string,
    handler: Handler<Req, Res>,
    opts: ServeOptions = {},
  ): Promise<Server> {
    return this.rpc.serve(service, handler as Handler, opts);
  }

  /** Queues an ack to ride along with the next send (or go on its own shortly). */
  ackLater(a: Ack): void {
    this.pendingAcks.push(a);
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      if (this.pendingAcks.length > 0 && !this.closed) {
        this.sender
          .push(null)
          .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'ack failed'));
      }
    }, 20);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.rpc.close();
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length > 0) {
      // Unwritten acks only mean redelivery after the lease (at-least-once), but say so.
      await this.sender.push(null).catch((err: unknown) => {
        this.log.warn({ err }, 'acks not written at close; those messages will be redelivered');
      });
    }
    this.closed = true;
    clearInterval(this.expireTimer);
    await this.listener.close();
  }

  private check(): void {
    if (this.closed) throw new ClosedError();
  }

  private async runSends(items: (SendRow[] | null)[]): Promise<(number | undefined)[][]> {
    const acks = this.pendingAcks.splice(0);
    const rows: SendRow[] = [];
    const seen = new Set<string>();
    // A repeated (sender, id) in one batch is a replay racing its original: send it once.
    const skip = items.map((item) => {
      const first = item?.[0];
      if (first?.id === undefined) return false;
      const key = `${first.sender}\0${first.id}`;
      if (seen.has(key)) return true;
      seen.add(key);
      return false;
    });
    items.forEach((item, i) => {
      if (item && !skip[i]) rows.push(...item);
    });
    if (rows.length === 0 && acks.length === 0) return items.map(() => []);
    let seqs: (number | undefined)[];
    try {
      seqs = await sendRows(this.sql, rows, acks);
    } catch (err) {
      this.pendingAcks.unshift(...acks);
      throw err;
    }
    let k = 0;
    return items.map((item, i) => {
      if (!item) return [];
      if (skip[i]) return item.map(() => undefined);
      const out = seqs.slice(k, k + item.length);
      k += item.length;
      return out;
    });
  }
}
