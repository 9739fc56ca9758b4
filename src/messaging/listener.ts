// One LISTEN connection per process, shared by every waiter on every mailbox channel.
import type { Sql } from '../kernel/database.js';
import { errorMessage } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';

type PayloadHandler = (payload: string) => void;

interface Channel {
  ready: Promise<void>;
  /**
   * Changed on every notification and on every (re)LISTEN, so a waiter can tell it missed
   * none. Drawn from one counter for all channels: a channel listened to again never shows
   * a generation seen before.
   */
  gen: number;
  wake: Set<() => void>;
  handlers: Set<PayloadHandler>;
  lastUsed: number;
  unlisten: (() => Promise<void>) | undefined;
}

/** A channel nobody has waited on for this long is UNLISTENed, so the set stays bounded. */
const LINGER_MS = 60_000;

export class Listener {
  private pool: Sql | undefined;
  private readonly channels = new Map<string, Channel>();
  private counter = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly openPool: () => Sql,
    private readonly log: Logger,
    private readonly lingerMs = LINGER_MS,
  ) {}

  /** The channels LISTENed to now. */
  listening(): string[] {
    return [...this.channels.keys()];
  }

  /** Starts listening on channel (once per process); resolves when LISTEN is in effect. */
  listen(channel: string): Promise<void> {
    return this.channel(channel).ready;
  }

  /** Calls fn with the payload of every notification on channel until the returned function is called. */
  onPayload(channel: string, fn: PayloadHandler): () => void {
    const ch = this.channel(channel);
    ch.handlers.add(fn);
    return () => ch.handlers.delete(fn);
  }

  generation(channel: string): number {
    return this.channel(channel).gen;
  }

  /** Resolves when channel has seen a notification since generation gen, or after ms. */
  waitChange(channel: string, gen: number, ms: number): Promise<void> {
    const ch = this.channel(channel);
    if (ch.gen !== gen || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        ch.wake.delete(done);
        ch.lastUsed = Date.now();
        resolve();
      };
      const timer = setTimeout(done, ms);
      ch.wake.add(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const ch of this.channels.values()) for (const w of [...ch.wake]) w();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end({ timeout: 1 });
  }

  private channel(name: string): Channel {
    let ch = this.channels.get(name);
    if (ch !== undefined) {
      ch.lastUsed = Date.now();
      return ch;
    }
    const created: Channel = {
      gen: ++this.counter,
      wake: new Set(),
      handlers: new Set(),
      ready: Promise.resolve(),
      lastUsed: Date.now(),
      unlisten: undefined,
    };
    ch = created;
    this.channels.set(name, created);
    const bump = () => {
      created.gen = ++this.counter;
      for (const w of [...created.wake]) w();
    };
    if (this.closed) return created;
    this.pool ??= this.openPool();
    this.sweeper ??= setInterval(() => this.sweep(), this.lingerMs).unref();
    created.ready = this.pool
      .listen(
        name,
        (payload) => {
          for (const h of created.handlers) {
            try {
              h(payload);
            } catch (err) {
              this.log.warn(
                { err: errorMessage(err), channel: name },
                'notification handler failed',
              );
            }
          }
          bump();
        },
        // Also on reconnect: messages may have arrived while the connection was down.
        bump,
      )
      .then((l) => {
        created.unlisten = () => l.unlisten();
      })
      .catch((err: unknown) => {
        if (this.channels.get(name) === created) this.channels.delete(name);
        throw err;
      });
    return created;
  }

  /** Drops channels with no waiters, no handlers and no use for lingerMs. */
  private sweep(): void {
    const cutoff = Date.now() - this.lingerMs;
    for (const [name, ch] of this.channels) {
      if (ch.wake.size > 0 || ch.handlers.size > 0 || ch.lastUsed > cutoff) continue;
      if (ch.unlisten === undefined) continue; // LISTEN still on its way
      this.channels.delete(name);
      ch.unlisten().catch((err: unknown) =>
        this.log.warn({ err: errorMessage(err), channel: name }, 'unlisten failed'),
      );
    }
  }
}
