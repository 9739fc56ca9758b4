// One LISTEN connection per process, shared by every service and channel; listens again
// after a reconnect and tells subscribers, so they can re-check what they may have missed.
import type { Sql } from './database.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';

export type PayloadHandler = (payload: string) => void;

export interface Subscription {
  /** Called with the payload of every notification on the channel. */
  onPayload?: PayloadHandler | undefined;
  /**
   * Called each time LISTEN is (re)established after the first: notifications sent while
   * the connection was down are lost, so a subscriber re-checks its state here.
   */
  onRelisten?: (() => void) | undefined;
}

interface Channel {
  ready: Promise<void>;
  /**
   * Changed on every notification and on every (re)LISTEN, so a waiter can tell it missed
   * none. Drawn from one counter for all channels: a channel listened to again never shows
   * a generation seen before.
   */
  gen: number;
  wake: Set<() => void>;
  subs: Set<Subscription>;
  lastUsed: number;
  listened: boolean;
  unlisten: (() => Promise<void>) | undefined;
}

/** A channel nobody has waited on for this long is UNLISTENed, so the set stays bounded. */
const LINGER_MS = 60_000;

type Retrying = <T>(what: string, op: () => Promise<T>) => Promise<T>;

export interface NotifierOptions {
  /** UNLISTEN a channel unused for this long (default 60 s). */
  lingerMs?: number;
  /** Runs the first LISTEN of a channel again after a lost connection (default: once). */
  retrying?: Retrying;
}

export class Notifier {
  private pool: Sql | undefined;
  private readonly channels = new Map<string, Channel>();
  private counter = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly lingerMs: number;
  private readonly retrying: Retrying;

  constructor(
    /** Opens the one-connection pool that carries LISTEN (on first use). */
    private readonly openPool: () => Sql,
    private readonly log: Logger,
    opts: NotifierOptions = {},
  ) {
    this.lingerMs = opts.lingerMs ?? LINGER_MS;
    this.retrying = opts.retrying ?? ((_what, op) => op());
  }

  /** The channels LISTENed to now. */
  listening(): string[] {
    return [...this.channels.keys()];
  }

  /** Starts listening on channel (once per process); resolves when LISTEN is in effect. */
  listen(channel: string): Promise<void> {
    return this.retrying('listen', () => this.channel(channel).ready);
  }

  /**
   * Subscribes to channel until the returned function is called; resolves once LISTEN is in
   * effect, so no notification sent after that is missed.
   */
  async subscribe(channel: string, sub: Subscription | PayloadHandler): Promise<() => void> {
    const s = typeof sub === 'function' ? { onPayload: sub } : sub;
    // A failed LISTEN drops its channel, so each attempt after a lost connection starts anew.
    const ch = await this.retrying('listen', async () => {
      const c = this.channel(channel);
      c.subs.add(s);
      try {
        await c.ready;
      } catch (err) {
        c.subs.delete(s);
        throw err;
      }
      return c;
    });
    return () => {
      ch.subs.delete(s);
      ch.lastUsed = Date.now();
    };
  }

  /** The channel's generation now: compare with waitChange to see whether anything arrived. */
  generation(channel: string): number {
    return this.channel(channel).gen;
  }

  /** Resolves when channel has seen a notification (or a re-LISTEN) since generation gen, or after ms. */
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
    this.channels.clear();
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
      subs: new Set(),
      ready: Promise.resolve(),
      lastUsed: Date.now(),
      listened: false,
      unlisten: undefined,
    };
    ch = created;
    this.channels.set(name, created);
    if (this.closed) return created;
    const bump = () => {
      created.gen = ++this.counter;
      for (const w of [...created.wake]) w();
    };
    this.pool ??= this.openPool();
    this.sweeper ??= setInterval(() => this.sweep(), this.lingerMs).unref();
    created.ready = this.pool
      .listen(
        name,
        (payload) => {
          for (const s of [...created.subs]) this.call(name, () => s.onPayload?.(payload));
          bump();
        },
        () => {
          bump();
          if (!created.listened) {
            created.listened = true;
            return;
          }
          this.log.info({ channel: name }, 'listening again after a reconnect');
          for (const s of [...created.subs]) this.call(name, () => s.onRelisten?.());
        },
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

  private call(channel: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn({ err: errorMessage(err), channel }, 'notification handler failed');
    }
  }

  /** Drops channels with no waiters, no subscribers and no use for lingerMs. */
  private sweep(): void {
    const cutoff = Date.now() - this.lingerMs;
    for (const [name, ch] of this.channels) {
      if (ch.wake.size > 0 || ch.subs.size > 0 || ch.lastUsed > cutoff) continue;
      if (ch.unlisten === undefined) continue; // LISTEN still on its way
      this.channels.delete(name);
      ch.unlisten().catch((err: unknown) =>
        this.log.warn({ err: errorMessage(err), channel: name }, 'unlisten failed'),
      );
    }
  }
}
