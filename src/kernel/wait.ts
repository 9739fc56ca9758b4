// The one blocking wait of every service: LISTEN, try, and sleep until a notification, a
// reconnect or the slow poll, up to a deadline.
import type { Notifier } from './notifier.js';

export interface WaitUntilOptions {
  /** The channel whose notifications may mean the condition now holds. */
  channel: string;
  /** When to give up, in Date.now() milliseconds (Infinity: never). */
  deadline: number;
  /** The slow fallback: try again after this long even without a notification. */
  pollMs: number;
  /** Only payloads for which this is true wake the waiter (default: every payload). */
  filter?: (payload: string) => boolean;
  /**
   * A cheaper wake source than a filter, for channels with many waiters: called once with
   * the wake function, returns its unsubscribe. Payloads then wake only through it (a
   * re-LISTEN still wakes every waiter).
   */
  wakeOn?: (wake: () => void) => () => void;
  /** Wraps each sleep, e.g. so a cancellation ends it with an error. */
  interrupt?: (sleep: Promise<void>) => Promise<void>;
}

/**
 * Calls attempt until it returns something other than undefined, and returns that; returns
 * undefined once the deadline has passed. LISTEN is in effect before the first attempt, so a
 * change made after an attempt always ends the sleep that follows it.
 */
export async function waitUntil<T>(
  notifier: Notifier,
  attempt: () => Promise<T | undefined>,
  opts: WaitUntilOptions,
): Promise<T | undefined> {
  let woken = false;
  let wake = () => undefined as void;
  const onChange = () => {
    woken = true;
    wake();
  };
  const { filter, wakeOn } = opts;
  const offWake = wakeOn?.(onChange);
  const unsubscribe = await notifier.subscribe(opts.channel, {
    onPayload:
      wakeOn !== undefined
        ? undefined
        : filter === undefined
          ? onChange
          : (p) => filter(p) && onChange(),
    onRelisten: onChange,
  });
  try {
    for (;;) {
      woken = false;
      const got = await attempt();
      if (got !== undefined) return got;
      const left = opts.deadline - Date.now();
      if (left <= 0) return undefined;
      if (woken) continue;
      const sleep = new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, opts.pollMs));
        function done() {
          clearTimeout(timer);
          wake = () => undefined;
          resolve();
        }
        wake = done;
      });
      await (opts.interrupt ? opts.interrupt(sleep) : sleep);
    }
  } finally {
    unsubscribe();
    offWake?.();
  }
}
