// Request/response over mailboxes: a request is a message to the service's mailbox (topic
// rpc), the reply a message back to the caller's address (topic rpc.reply), both on record.
import crypto from 'node:crypto';
import type { Sql } from '../kernel/database.js';
import { errorMessage, TableOSError } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';
import { CallTimeoutError, RemoteError } from './errors.js';
import type { Listener } from './listener.js';
import type { Messaging } from './messaging.js';
import { sendRows, toMessage, type Message, type MessageRow, type SendRow } from './queries.js';
import { checkCount, checkMailbox, checkTimeout, encodeBody } from './validate.js';
import { channelFor } from './workflow.js';

export interface CallOptions {
  /** How long to wait for the reply (ms, default 30 s). */
  timeout?: number | undefined;
}

export interface ServeOptions {
  /** Most requests taken and handled at once (default 100). */
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
const REQUEST = 'rpc';
const REPLY = 'rpc.reply';

export class Rpc {
  private readonly pending = new Map<string, Pending>();
  private replies: Promise<void> | undefined;
  private readonly servers = new Set<Server>();

  constructor(
    private readonly m: Messaging,
    private readonly sql: Sql,
    private readonly listener: Listener,
    private readonly log: Logger,
  ) {}

  async call<Res>(service: string, request: unknown, opts: CallOptions): Promise<Res> {
    checkMailbox(service);
    const timeout = checkTimeout(opts.timeout) ?? 30_000;
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
    const batch = checkCount(opts.batch ?? 100, 'batch', 1000);
    await this.sql`select tableos.msg_create(${service}, null)`;
    const channel = channelFor(service);
    await this.listener.listen(channel);
    const conn = await this.sql.reserve();
    let stopped = false;
    let wakeStop: () => void = () => undefined;
    const stopping = new Promise<void>((r) => (wakeStop = r));
    const loop = (async () => {
      while (!stopped) {
        const gen = this.listener.generation(channel);
        try {
          const n = await this.serveBatch(conn, service, handler, batch);
          if (n > 0) continue;
        } catch (err) {
          this.log.warn({ err: errorMessage(err), service }, 'serving a batch failed; retrying');
          await conn`rollback`.catch(() => undefined);
          await Promise.race([stopping, new Promise((r) => setTimeout(r, 1000))]);
          continue;
        }
        await Promise.race([stopping, this.listener.waitChange(channel, gen, POLL_MS)]);
      }
    })();
    const server: Server = {
      service,
      stop: async () => {
        stopped = true;
        wakeStop();
        await loop;
        conn.release();
        this.servers.delete(server);
      },
    };
    this.servers.add(server);
    return server;
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers].map((s) => s.stop()));
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new TableOSError('TABLEOS_CLOSED', 'messaging closed while waiting for a reply'));
    }
    this.pending.clear();
  }

  /**
   * One transaction: lock requests, run the handlers, insert the replies and delete the
   * requests, commit. A crash before the commit leaves the requests for another server.
   */
  private async serveBatch(
    conn: Sql,
    service: string,
    handler: Handler,
    batch: number,
  ): Promise<number> {
    const [, rows] = await Promise.all([
      conn`begin`,
      conn<MessageRow[]>`select * from tableos.msg_lock(${service}, ${REQUEST}, ${batch})`,
    ]);
    if (rows.length === 0) {
      await conn`rollback`;
      return 0;
    }
    const replies = await Promise.all(
      rows.map(async (r): Promise<SendRow> => {
        let reply: Reply;
        try {
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
          sender: service,
          topic: REPLY,
          id: undefined,
          corr: r.corr ?? undefined,
          body,
        };
      }),
    );
    const acks = rows.map((r) => ({ mailbox: service, seq: Number(r.seq) }));
    await Promise.all([sendRows(conn, replies, acks), conn`commit`]);
    return rows.length;
  }

  private listenForReplies(): Promise<void> {
    if (this.replies) return this.replies;
    const channel = channelFor(this.m.address);
    this.listener.onPayload(channel, (payload) => this.onReply(payload));
    this.replies = this.listener.listen(channel).catch((err: unknown) => {
      this.replies = undefined;
      throw err;
    });
    return this.replies;
  }

  private onReply(payload: string): void {
    const n = JSON.parse(payload) as { seq: number; corr?: string; body?: Reply };
    if (n.corr !== undefined && n.body !== undefined) {
      this.settle(n.corr, n.body, n.seq);
      return;
    }
    if (this.pending.size === 0) return;
    // The reply was too large to ride in the notification: read it.
    this.sql<MessageRow[]>`select * from tableos.msg_peek(${this.m.address}, ${REPLY}, 1000)`
      .then((rows) => {
        for (const r of rows) if (r.corr) this.settle(r.corr, r.body as Reply, Number(r.seq));
      })
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'reading a reply failed'));
  }

  private settle(corr: string, reply: Reply, seq: number): void {
    const p = this.pending.get(corr);
    if (p === undefined) return;
    this.pending.delete(corr);
    clearTimeout(p.timer);
    // The reply is on record; deleting it can ride along with a later send.
    this.m.ackLater({ mailbox: this.m.address, seq });
    if (reply.error) p.reject(new RemoteError(p.service, reply.error.code, reply.error.message));
    else p.resolve(reply.ok);
  }
}
