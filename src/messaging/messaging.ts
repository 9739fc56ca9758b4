// The messaging service of one TableOS node: durable mailboxes with blocking receive.
import crypto from 'node:crypto';
import type { Sql, TransactionSql } from '../kernel/database.js';
import { ClosedError, errorMessage } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';
import { Batcher, type BatcherOptions } from '../kernel/batcher.js';
import { runQuery } from '../kernel/query.js';
import { BadOptionError, MailboxNotFoundError } from './errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Notifier } from '../kernel/notifier.js';
import { faultPoint } from '../kernel/fault.js';
import { waitUntil } from '../kernel/wait.js';
import { expireMessages, mailboxStats, type MailboxStats } from './mailboxes.js';
import {
  ackMessages,
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
import { Sender } from './sender.js';
import { channelFor, consumeInTx, sendInTx } from './workflow.js';

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
  timeoutMs?: number | undefined;
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
/** Sends and takes gather for one event-loop turn, then go one statement at a time. */
const SEND_BATCH: BatcherOptions = { gather: 'immediate', regather: false };

export class Messaging {
  readonly address: string;
  private readonly notifier: Notifier;
  private readonly sql: Sql;
  private readonly log: Logger;
  private readonly kernel: Kernel;
  private readonly sender: Sender;
  private readonly taker: Batcher<TakeRequest, Message[] | 'missing'>;
  private expireTimer: NodeJS.Timeout | undefined;
  private readonly rpc: Rpc;
  private closed = false;

  constructor(kernel: Kernel, opts: MessagingOptions = {}) {
    this.kernel = kernel;
    this.sql = kernel.sql;
    this.log = kernel.logger('messaging');
    this.notifier = kernel.notifier;
    const exec = kernel.executorId;
    this.address = checkMailbox(
      opts.address ??
        (exec === undefined
          ? `proc.${crypto.randomBytes(8).toString('hex')}`
          : `proc.${exec}`.slice(0, 128)),
    );
    this.sender = new Sender(this.sql, kernel.once, this.log, SEND_BATCH);
    // Run once by token, so a retry after a lost connection hands over what the first took.
    this.taker = Batcher.of(
      (reqs) =>
        kernel.once.run('tableos.msg_take', async (once) => {
          const out = await takeMessages(this.sql, reqs, once);
          faultPoint('messaging:take-committed');
          return out;
        }),
      SEND_BATCH,
    );
    this.rpc = new Rpc(this, kernel, this.log);
    // Executors run the retention sweep (no connection is opened until it runs).
    const every = opts.expireEveryMs ?? (exec === undefined ? 0 : 60_000);
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
    const ms = retention === undefined ? null : Math.ceil(retention);
    await this.kernel.retrying(
      'tableos.msg_create',
      () => this.sql`select tableos.msg_create(${name}, ${ms})`,
    );
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
    this.kernel.metrics.messagesSent.inc(sent.length);
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
    const timeout = checkTimeout(opts.timeoutMs, 'timeoutMs');
    const leaseMs = opts.ack
      ? (checkTimeout(opts.leaseMs, 'leaseMs') ?? DEFAULT_LEASE_MS)
      : undefined;
    this.check();
    const channel = channelFor(mailbox);
    const got = await waitUntil(
      this.notifier,
      async () => {
        this.check();
        const msgs = await this.taker.push({ mailbox, topic, limit: n, leaseMs });
        if (msgs === 'missing') throw new MailboxNotFoundError(mailbox);
        return msgs.length > 0 ? (msgs as Message<T>[]) : undefined;
      },
      {
        channel,
        deadline: timeout === undefined ? Infinity : Date.now() + timeout,
        pollMs: POLL_MS,
      },
    );
    if (got !== undefined) this.kernel.metrics.messagesReceived.inc(got.length);
    return got ?? [];
  }

  /**
   * Watches a mailbox for new messages, for callers that take messages themselves (e.g. with
   * consumeInTx): make the watch, try to take, and if nothing came, await watch.wait(ms). A
   * message sent after the watch was made always ends the wait.
   */
  /**
   * Sends inside the caller's transaction: the message exists only if tx commits. With an id,
   * a replay of the same (from, id) is a no-op, even after the first was consumed; returns
   * false then.
   */
  sendInTx(
    tx: TransactionSql,
    to: string | readonly string[],
    body: unknown,
    opts: { from?: string | undefined; id?: string | undefined; topic?: string | undefined } = {},
  ): Promise<boolean> {
    this.check();
    return sendInTx(tx, to, body, { ...opts, from: opts.from ?? this.address });
  }

  /**
   * Takes the oldest message of mailbox (of topic, if given) inside the caller's transaction:
   * it is gone only if tx commits, so a checkpoint written in the same tx makes the receive
   * exactly once. Undefined when there is none (also when the mailbox does not exist yet).
   */
  consumeInTx<T = unknown>(
    tx: TransactionSql,
    mailbox: string,
    opts: { topic?: string | undefined } = {},
  ): Promise<Message<T> | undefined> {
    this.check();
    return consumeInTx<T>(tx, mailbox, opts);
  }

  async watch(mailbox: string): Promise<MailboxWatch> {
    checkMailbox(mailbox);
    this.check();
    const channel = channelFor(mailbox);
    await this.notifier.listen(channel);
    const gen = this.notifier.generation(channel);
    return {
      wait: async (ms: number) => {
        checkTimeout(ms);
        await this.notifier.waitChange(channel, gen, ms);
        return this.notifier.generation(channel) !== gen;
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
    const rows = await this.kernel.retrying('tableos.msg_peek', () =>
      runQuery(
        'tableos.msg_peek',
        [mailbox, topic ?? null, limit],
        () =>
          this.sql<
            MessageRow[]
          >`select * from tableos.msg_peek(${mailbox}, ${topic ?? null}, ${limit})`,
      ),
    );
    return rows.map((r) => toMessage<T>(r));
  }

  /** Acknowledges messages received in ack mode; returns how many were still waiting. */
  async ack(messages: readonly Pick<Message, 'mailbox' | 'seq'>[]): Promise<number> {
    this.check();
    if (messages.length === 0) return 0;
    const acks = messages.map((m) => ({ mailbox: checkMailbox(m.mailbox), seq: m.seq }));
    // Deleting twice is harmless; a retry counts only what its own run found still there.
    return this.kernel.retrying('tableos.msg_ack', () => ackMessages(this.sql, acks));
  }

  /** Counters per mailbox, or of one mailbox. */
  async stats(mailbox?: string): Promise<MailboxStats[]> {
    if (mailbox !== undefined) checkMailbox(mailbox);
    this.check();
    return this.kernel.retrying('tableos.msg_stats', () => mailboxStats(this.sql, mailbox));
  }

  /** Runs the retention sweep now; returns what expired, per mailbox. */
  expire(): Promise<{ mailbox: string; expired: number }[]> {
    this.check();
    return this.kernel.retrying('tableos.msg_expire', () => expireMessages(this.sql));
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
    if (!this.closed) this.sender.ackLater(a);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.rpc.close();
    await this.sender.close();
    this.closed = true;
    clearInterval(this.expireTimer);
  }

  private check(): void {
    if (this.closed) throw new ClosedError();
  }
}
