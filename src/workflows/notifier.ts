// One LISTEN per channel for the whole process, fanned out to in-process subscribers.
import type { Sql } from '../kernel/database.js';
import type { Logger } from '../kernel/logger.js';

type Handler = (payload: string) => void;

export class Notifier {
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly listening = new Map<string, Promise<{ unlisten(): Promise<void> }>>();

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {}

  /** Subscribes; the promise resolves once LISTEN is active, so no later NOTIFY is missed. */
  async subscribe(channel: string, handler: Handler): Promise<() => void> {
    let set = this.handlers.get(channel);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    let l = this.listening.get(channel);
    if (l === undefined) {
      l = this.sql.listen(channel, (payload) => this.dispatch(channel, payload));
      this.listening.set(channel, l);
    }
    await l;
    return () => set.delete(handler);
  }

  private dispatch(channel: string, payload: string): void {
    for (const h of this.handlers.get(channel) ?? []) {
      try {
        h(payload);
      } catch (err) {
        this.log.error({ err, channel }, 'notification handler failed');
      }
    }
  }

  async close(): Promise<void> {
    const ls = [...this.listening.values()];
    this.listening.clear();
    this.handlers.clear();
    for (const l of ls) await (await l).unlisten().catch(() => undefined);
  }
}
