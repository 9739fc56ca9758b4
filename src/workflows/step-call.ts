// Steps: a function with external effects, run outside any transaction and recorded when it
// completes; retried with backoff when it fails, never run again once recorded.
import { faultPoint } from '../kernel/fault.js';
import { endSpan, startCallSpan } from '../kernel/tracing.js';
import { StepRetriesExhaustedError } from './errors.js';
import { replayValue } from './history.js';
import type { RunState } from './run-state.js';
import { serialize } from './serialize.js';
import type { StepDef } from './types.js';

export async function runStep<A extends unknown[], R>(
  run: RunState,
  s: StepDef<A, R>,
  args: A,
): Promise<R> {
  const seq = run.history.next();
  const rec = run.history.replayed(seq, 'step', s.name);
  if (rec) return replayValue(rec) as R;
  run.checkLive();
  // The run's row and earlier results must be durable before a new external effect
  // happens: an effect of a run that was never recorded could not be finished by recovery.
  await run.checkpoints.flush(true);
  const span = startCallSpan(run.trace, 'step', s.name, seq);
  try {
    const value = await attempts(run, s, args, seq);
    endSpan(span);
    return value;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

/** Runs the step (again on failure, as its options say) and records how it ended. */
async function attempts<A extends unknown[], R>(
  run: RunState,
  s: StepDef<A, R>,
  args: A,
  seq: number,
): Promise<R> {
  const retries = s.options.retries ?? 0;
  let backoff = s.options.backoffMs ?? 100;
  const started = new Date();
  for (let attempt = 1; ; attempt++) {
    let value: R;
    try {
      value = await s.fn(...args);
    } catch (err) {
      if (attempt <= retries) {
        await run.stop.delay(backoff);
        backoff = Math.min(
          backoff * (s.options.backoffFactor ?? 2),
          s.options.maxBackoffMs ?? 60_000,
        );
        continue;
      }
      const failure = retries > 0 ? new StepRetriesExhaustedError(s.name, attempt, err) : err;
      await run.recordFailure(seq, 'step', s.name, failure, started);
      throw failure;
    }
    faultPoint('workflows:step-effect-done');
    let output: string | null;
    try {
      output = serialize(value, `result of step ${s.name}`);
    } catch (err) {
      await run.recordFailure(seq, 'step', s.name, err, started);
      throw err;
    }
    run.rt.metrics.observeCall('step', started);
    // Recorded with the next call or the finish (or at the end of this event-loop turn).
    run.checkpoints.record({
      workflowId: run.workflowId,
      seq,
      kind: 'step',
      name: s.name,
      output,
      error: null,
      startedAt: started,
    });
    return value;
  }
}
