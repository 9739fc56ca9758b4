// Request/response over mailboxes: a request is a message to the service's mailbox (topic
// rpc), the reply a message back to the caller's address (topic rpc.reply), both on record.
import crypto from 'node:crypto';
import type { Sql } from '../kernel/database.js';
import { ClosedError, errorMessage, TableOSError } from '../kernel/errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import { isConnectionLoss } from '../kernel/reconnect.js';
import { BadOptionError, CallTimeoutError, RemoteError, ServiceStoppedError } from './errors.js';
import type { Notifier } from '../kernel/notifier.js';
import type { Messaging } from './messaging.js';
import { sendRows, toMessage, type Message, type MessageRow, type SendRow } from './queries.js';
import { checkCount, checkMailbox, checkTimeout, encodeBody } from './validate.js';
import { channelFor } from './workflow.js';

export interface CallOptions {
  /** How long to wait for the reply (ms, default 30 s). */
  timeoutMs?: number | undefined;
}

export interface ServeOptions {
  /** Most requests taken and handled at once, over all services of this process (default 100). */
  batch?: number | undefined;
}

export type Handler<Req = unknown, Res = unknown> = (
  request: Req,
  message: Message<Req>,
) => Res | Promise<Res>;

export interface Server {
  readonly service: string;
  /** Finishes the batch in hand, then stops taking requests. */
  stop(): Promise<void>;
}

type Reply = { ok?: unknown; error?: { message: string; code?: string } };

interface Pending {
  service: string;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

const POLL_MS = 5000;
/** The first pause after the serving connection was lost; it doubles up to 1 s. */
const LOST_PAUSE_MS = 25;
const REQUEST = 'rpc';
const REPLY = 'rpc.reply';

export class Rpc {
  private readonly pending = new Map<string, Pending>();
  private replies: Promise<void> | undefined;
  private readonly handlers = new Map<string, Handler>();
  private loop: Promise<void> | undefined;
  private inFlight: Promise<number> | undefined;
  private batch = 100;
  /** Bumped by every request notification, so the loop can tell it missed none. */
  private gen = 0;
  private waker: (() => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly sql: Sql;
  private readonly notifier: Notifier;

  constructor(
    private readonly m: Messaging,
    private readonly kernel: Kernel,
    private readonly log: Logger,
  ) {
    this.sql = kernel.sql;
    this.notifier = kernel.notifier;
  }

  async call<Res>(service: string, request: unknown, opts: CallOptions): Promise<Res> {
    checkMailbox(service);
    const timeout = checkTimeout(opts.timeoutMs, 'timeoutMs') ?? 30_000;
    const body = encodeBody(request);
    await this.listenForReplies();
    const corr = crypto.randomUUID();
    const reply = new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(corr);
        reject(new CallTimeoutError(service, timeout));
      }, timeout);
      this.pending.set(corr, { service, resolve: resolve as (v: unknown) => void, reject, timer });
    });
    // The timeout may fire while the send is still on its way; the caller sees it below.
    reply.catch(() => undefined);
    this.sweepSoon();
    const row: SendRow = {
      receiver: service,
      sender: this.m.address,
      topic: REQUEST,
      id: undefined,
      corr,
      body,
    };
    try {
      await this.m.sendRaw([row]);
    } catch (err) {
      const p = this.pending.get(corr);
      this.pending.delete(corr);
      clearTimeout(p?.timer);
      throw err;
    }
    return reply;
  }

  async serve(service: string, handler: Handler, opts: ServeOptions): Promise<Server> {
    checkMailbox(service);
    if (opts.batch !== undefined) this.batch = checkCount(opts.batch, 'batch', 1000);
    if (this.handlers.has(service)) {
      throw new BadOptionError(
        `service ${JSON.stringify(service)} is already served by this process`,
      );
    }
    await this.kernel.retrying(
      'tableos.msg_create',
      () => this.sql`select tableos.msg_create(${service}, null)`,
    );
    const channel = channelFor(service);
    const off = await this.notifier.subscribe(channel, {
      onPayload: () => this.wake(),
      // Requests sent while the connection was down raised no notification.
      onRelisten: () => this.wake(),
    });
    this.handlers.set(service, handler);
    this.loop ??= this.serveLoop();
    this.wake();
    let stopped = false;
    return {
      service,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        off();
        this.handlers.delete(service);
        this.wake();
        // Requests of this service already in hand are answered first.
        if (this.handlers.size === 0) await this.stopLoop();
        else await this.inFlight;
      },
    };
  }

  async close(): Promise<void> {
    clearTimeout(this.sweeper);
    this.handlers.clear();
    await this.stopLoop();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ClosedError('messaging closed while waiting for a reply'));
    }
    this.pending.clear();
  }

  private wake(): void {
    this.gen++;
    const w = this.waker;
    this.waker = undefined;
    w?.();
  }

  private async stopLoop(): Promise<void> {
    const loop = this.loop;
    this.wake();
    await loop;
  }

  /** One loop per process serves every service it registered, one transaction per batch. */
  private async serveLoop(): Promise<void> {
    const conn = this.kernel.db.newPool({ max: 1 });
    let pause = LOST_PAUSE_MS;
    try {
      while (this.handlers.size > 0) {
        const gen = this.gen;
        try {
          this.inFlight = this.serveBatch(conn);
          const n = await this.inFlight;
          pause = LOST_PAUSE_MS;
          // A full batch may have left more behind; a short one took all there was, and
          // anything sent since has bumped the generation, so go straight to waiting.
          if (n === this.batch) continue;
        } catch (err) {
          // A batch whose connection was lost rolled back unless its commit got through;
          // either way its requests are answered once: by this batch or by the next.
          const lost = isConnectionLoss(err);
          this.log.warn({ err: errorMessage(err) }, 'serving a batch failed; retrying');
          await conn`rollback`.catch(() => undefined);
          await this.sleep(lost ? pause : 1000);
          if (lost) pause = Math.min(pause * 2, 1000);
          continue;
        }
        if (this.gen === gen) await this.sleep(POLL_MS);
      }
    } finally {
      await conn.end({ timeout: 1 });
      this.loop = undefined;
      // A service registered while this loop was winding down needs a loop of its own.
      if (this.handlers.size > 0) this.loop = this.serveLoop();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waker = undefined;
        resolve();
      }, ms);
      this.waker = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * One transaction: lock requests, run the handlers, insert the replies and delete the
   * requests, commit. A crash before the commit leaves the requests for another server.
   */
  private async serveBatch(conn: Sql): Promise<number> {
    const services = [...this.handlers.keys()];
    if (services.length === 0) return 0;
    const [, rows] = await Promise.all([
      conn`begin`,
      conn<
        MessageRow[]
      >`select * from tableos.msg_lock(${services}::text[], ${REQUEST}, ${this.batch})`,
    ]);
    if (rows.length === 0) {
      await conn`rollback`;
      return 0;
    }
    const replies = await Promise.all(rows.map((r) => this.answer(r)));
    const acks = rows.map((r) => ({ mailbox: r.receiver, seq: Number(r.seq) }));
    await Promise.all([sendRows(conn, replies, acks), conn`commit`]);
    return rows.length;
  }

  private async answer(r: MessageRow): Promise<SendRow> {
    let reply: Reply;
    const handler = this.handlers.get(r.receiver);
    try {
      if (handler === undefined) throw new ServiceStoppedError(r.receiver);
      reply = { ok: await handler(r.body, toMessage(r)) };
    } catch (err) {
      const code = err instanceof TableOSError ? err.code : undefined;
      reply = { error: { message: errorMessage(err), ...(code ? { code } : {}) } };
    }
    let body: string;
    try {
      body = encodeBody(reply);
    } catch (err) {
      body = encodeBody({ error: { message: `reply not sendable: ${errorMessage(err)}` } });
    }
    return {
      receiver: r.sender,
      sender: r.receiver,
      topic: REPLY,
      id: undefined,
      corr: r.corr ?? undefined,
      body,
    };
  }

  private listenForReplies(): Promise<void> {
    if (this.replies) return this.replies;
    const channel = channelFor(this.m.address);
    this.replies = this.notifier
      .subscribe(channel, {
        onPayload: (payload) => this.onReply(payload),
        // Replies committed while the connection was down raised no notification here.
        onRelisten: () => {
          if (this.pending.size > 0) this.readReplies();
        },
      })
      .then(
        () => undefined,
        (err: unknown) => {
          this.replies = undefined;
          throw err;
        },
      );
    return this.replies;
  }

  private onReply(payload: string): void {
    if (payload === '') return; // a plain message to this address, not a reply
    const n = JSON.parse(payload) as { seq: number; corr?: string; body?: Reply };
    if (n.corr !== undefined && n.body !== undefined) {
      this.settle(n.corr, n.body, n.seq);
      return;
    }
    // The reply was too large to ride in the notification: read it.
    if (this.pending.size > 0) this.readReplies();
  }

  /**
   * While calls wait, look for their replies now and then: a notification can be lost when
   * the listening connection drops, but the reply is on record.
   */
  private sweepSoon(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setTimeout(() => {
      this.sweeper = undefined;
      if (this.pending.size === 0) return;
      this.readReplies();
      this.sweepSoon();
    }, POLL_MS);
    this.sweeper.unref();
  }

  private readReplies(): void {
    this.kernel
      .retrying(
        'tableos.msg_peek',
        () =>
          this.sql<MessageRow[]>`select * from tableos.msg_peek(${this.m.address}, ${REPLY}, 1000)`,
      )
      .then((rows) => {
        for (const r of rows) if (r.corr) this.settle(r.corr, r.body as Reply, Number(r.seq));
      })
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'reading replies failed'));
  }

  private settle(corr: string, reply: Reply, seq: number): void {
    const p = this.pending.get(corr);
    // The reply is on record; deleting it can ride along with a later send. A reply to a
    // call that gave up waiting is of no use to anyone, so it goes too.
    this.m.ackLater({ mailbox: this.m.address, seq });
    if (p === undefined) return;
    this.pending.delete(corr);
    clearTimeout(p.timer);
    if (reply.error) p.reject(new RemoteError(p.service, reply.error.code, reply.error.message));
    else p.resolve(reply.ok);
  }
}
