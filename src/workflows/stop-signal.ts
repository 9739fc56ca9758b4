// Stopping a run from outside (cancellation, timeout, shutdown): the run notices at its next
// call or wait; a wait in progress ends at once with the reason.
export class StopSignal {
  private reason: Error | undefined;
  private rejectStopped: ((err: Error) => void) | undefined;
  private readonly stopped: Promise<never>;

  constructor() {
    this.stopped = new Promise<never>((_, reject) => (this.rejectStopped = reject));
    this.stopped.catch(() => undefined);
  }

  /** Why the run was stopped, if it was. */
  get error(): Error | undefined {
    return this.reason;
  }

  /** The first reason wins. */
  stop(err: Error): void {
    if (this.reason !== undefined) return;
    this.reason = err;
    this.rejectStopped?.(err);
  }

  /** Awaits p unless the run is stopped first. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.stopped]);
  }

  /** Sleeps ms, ended early (with the reason) when the run is stopped. */
  delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    let t: NodeJS.Timeout | undefined;
    return this.race(
      new Promise<void>((r) => (t = setTimeout(r, Math.min(ms, 2 ** 31 - 1)))),
    ).finally(() => clearTimeout(t));
  }
}
