// Child workflows: started at a position of the parent (the child's id is recorded there, in
// the commit that creates the child), cancelled with it, inheriting its deadline.
import { rememberParent } from '../kernel/tracing.js';
import type { RunState } from './run-state.js';
import { deserialize } from './serialize.js';
import { outcomeValue, type StartOptions, type WorkflowDef } from './types.js';

export interface ChildHandle<R> {
  readonly workflowId: string;
  result(): Promise<R>;
}

export async function startChild<A extends unknown[], R>(
  run: RunState,
  wf: WorkflowDef<A, R>,
  args: A,
  opts: Pick<StartOptions, 'id' | 'timeoutMs'> = {},
): Promise<ChildHandle<R>> {
  const seq = run.history.next();
  const rec = run.history.replayed(seq, 'child', wf.name);
  let childId: string;
  if (rec) {
    childId = deserialize(rec.output) as string;
  } else {
    run.checkLive();
    await run.checkpoints.flush();
    childId = opts.id ?? `${run.workflowId}:${seq}`;
    rememberParent(childId, run.trace);
    await run.rt.startChild(wf as unknown as WorkflowDef<never[], unknown>, args, {
      id: childId,
      parent: run.workflowId,
      parentSeq: seq,
      timeoutMs: opts.timeoutMs,
    });
  }
  return {
    workflowId: childId,
    result: async () => outcomeValue(await run.stop.race(run.rt.outcome(childId))) as R,
  };
}
