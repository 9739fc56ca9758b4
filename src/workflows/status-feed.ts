// The one subscription of a process to tableos_wf (lines "status id" when runs finish, are
// cancelled, resumed or forked): each line wakes the waiters on that run and goes to every
// listener (the service stops cancelled runs and claims resumed ones).
import type { Notifier } from '../kernel/notifier.js';

export type StatusListener = (status: string, id: string) => void;

export class StatusFeed {
  private sub: Promise<() => void> | undefined;
  /** Waiters on a run's status, by workflow id: one parse of each notification for all. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly listeners = new Set<StatusListener>();

  constructor(private readonly notifier: Notifier) {}

  /** Subscribes once; resolves when LISTEN is in effect. */
  listen(): Promise<unknown> {
    this.sub ??= this.notifier.subscribe('tableos_wf', (payload) => {
      for (const line of payload.split('\n')) {
        const sp = line.indexOf(' ');
        if (sp > 0) this.deliver(line.slice(0, sp), line.slice(sp + 1));
      }
    });
    return this.sub;
  }

  /** Calls wake on each status line about run id; returns the unsubscribe. */
  onRun(id: string, wake: () => void): () => void {
    let set = this.waiters.get(id);
    if (set === undefined) this.waiters.set(id, (set = new Set()));
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) this.waiters.delete(id);
    };
  }

  /** Calls listener with every status line; returns the unsubscribe. */
  onEvery(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    if (sub !== undefined) (await sub.catch(() => () => undefined))();
  }

  private deliver(status: string, id: string): void {
    const set = this.waiters.get(id);
    if (set) for (const w of set) w();
    for (const l of this.listeners) l(status, id);
  }
}
