// One LISTEN connection per process, shared by every waiter on every mailbox channel.
import type { Sql } from '../kernel/database.js';
import { errorMessage } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';

type PayloadHandler = (payload: string) => void;

interface Channel {
  ready: Promise<void>;
  /** Bumped on every notification and on every (re)LISTEN, so a waiter can tell it missed none. */
  gen: number;
  wake: Set<() => void>;
  handlers: Set<PayloadHandler>;
}

export class Listener {
  private pool: Sql | undefined;
  private readonly channels = new Map<string, Channel>();
  private closed = false;

  constructor(
    private readonly openPool: () => Sql,
    private readonly log: Logger,
  ) {}

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
        resolve();
      };
      const timer = setTimeout(done, ms);
      ch.wake.add(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const ch of this.channels.values()) for (const w of [...ch.wake]) w();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end({ timeout: 1 });
  }

  private channel(name: string): Channel {
    let ch = this.channels.get(name);
    if (ch !== undefined) return ch;
    const created: Channel = {
      gen: 0,
      wake: new Set(),
      handlers: new Set(),
      ready: Promise.resolve(),
    };
    ch = created;
    this.channels.set(name, created);
    const bump = () => {
      created.gen++;
      for (const w of [...created.wake]) w();
    };
    if (this.closed) return created;
    this.pool ??= this.openPool();
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
      .then(() => undefined)
      .catch((err: unknown) => {
        this.channels.delete(name);
        throw err;
      });
    return created;
  }
}
