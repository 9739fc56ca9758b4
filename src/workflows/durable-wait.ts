// Durable waits: the deadline (or a sleep's wake-up time) is recorded at the wait's position,
// so a resumed run waits only for what is left; the wait itself is LISTEN/NOTIFY with a slow
// poll as fallback, ended early when the run is stopped.
import { waitUntil } from '../kernel/wait.js';
import { WorkflowArgumentError } from './errors.js';
import type { RunState } from './run-state.js';
import { deserialize } from './serialize.js';

export interface DurableWaitOptions {
  /** NOTIFY channel whose notifications may mean the awaited thing happened. */
  channel: string;
  /** Maximum wait; the deadline is recorded, so it survives restarts. */
  timeoutMs: number;
  /** Checks whether the awaited thing happened; called first and after each wake-up. */
  ready: () => Promise<boolean>;
  /** Only payloads this accepts wake the wait (default: all). */
  filter?: (payload: string) => boolean;
}

export interface WaitPosition {
  /** When the wait ends, in Date.now() milliseconds: recorded, or now + timeoutMs. */
  deadline: number;
  /** Buffers the deadline's record, to be written with the next checkpoint (nothing on replay). */
  record: () => void;
}

/**
 * Takes a wait's position: the recorded deadline on replay, else now + timeoutMs, whose
 * record the caller buffers when it is sure to need it (a caller about to sleep flushes first).
 */
export function waitPosition(run: RunState, channel: string, timeoutMs: number): WaitPosition {
  const seq = run.history.next();
  const rec = run.history.replayed(seq, 'wait', channel);
  if (rec) return { deadline: deserialize(rec.output) as number, record: () => undefined };
  run.checkLive();
  const deadline = Date.now() + timeoutMs;
  const startedAt = new Date();
  let recorded = false;
  const record = () => {
    if (recorded) return;
    recorded = true;
    run.checkpoints.record({
      workflowId: run.workflowId,
      seq,
      kind: 'wait',
      name: channel,
      output: String(deadline),
      error: null,
      startedAt,
    });
  };
  return { deadline, record };
}

/**
 * Calls attempt until it returns something, waking on NOTIFY of channel, up to deadline;
 * undefined then. Stops with the run's stop reason when it is stopped.
 */
export function waitOn<T>(
  run: RunState,
  channel: string,
  deadline: number,
  attempt: () => Promise<T | undefined>,
  filter?: (payload: string) => boolean,
): Promise<T | undefined> {
  return waitUntil(
    run.rt.notifier,
    () => {
      run.checkLive();
      return attempt();
    },
    {
      channel,
      deadline,
      pollMs: run.rt.pollMs,
      ...(filter === undefined ? {} : { filter }),
      interrupt: (sleep) => run.stop.race(sleep),
    },
  );
}

/**
 * Blocks until ready() holds or the timeout passes. The deadline is durable before the wait
 * begins, so after a restart the wait resumes with the time that is left. False on timeout.
 */
export async function durableWait(run: RunState, o: DurableWaitOptions): Promise<boolean> {
  const { deadline, record } = waitPosition(run, o.channel, o.timeoutMs);
  record();
  await run.checkpoints.flush();
  const ready = await waitOn(
    run,
    o.channel,
    deadline,
    async () => ((await run.db(`wait on ${o.channel}`, o.ready)) ? true : undefined),
    o.filter,
  );
  return ready === true;
}

/** Sleeps durably: the wake-up time is recorded, so a resumed run sleeps only what is left. */
export async function durableSleep(run: RunState, ms: number): Promise<void> {
  if (typeof ms !== 'number' || !(ms >= 0)) {
    throw new WorkflowArgumentError(`sleep needs a number of milliseconds >= 0, got ${String(ms)}`);
  }
  const seq = run.history.next();
  const rec = run.history.replayed(seq, 'sleep', 'sleep');
  const wake = rec ? (deserialize(rec.output) as number) : Date.now() + ms;
  if (!rec) {
    run.checkLive();
    run.checkpoints.record({
      workflowId: run.workflowId,
      seq,
      kind: 'sleep',
      name: 'sleep',
      output: String(wake),
      error: null,
      startedAt: new Date(),
    });
    await run.checkpoints.flush();
  }
  await run.stop.delay(wake - Date.now());
}
