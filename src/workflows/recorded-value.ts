// Values a workflow must see the same on every replay (the time, random numbers, uuids, an
// event read): made once, recorded at their position with the next checkpoint.
import { replayValue } from './history.js';
import type { RunState } from './run-state.js';
import { serialize } from './serialize.js';

export async function recordValue<T>(
  run: RunState,
  kind: string,
  name: string,
  make: () => T | Promise<T>,
): Promise<T> {
  const seq = run.history.next();
  const rec = run.history.replayed(seq, kind, name);
  if (rec) return replayValue(rec) as T;
  run.checkLive();
  const v = await make();
  run.checkpoints.record({
    workflowId: run.workflowId,
    seq,
    kind,
    name,
    output: serialize(v, `${kind} value`),
    error: null,
    startedAt: null,
  });
  return v;
}
