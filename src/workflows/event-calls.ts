// Events inside a workflow: setEvent publishes a value under a key in one commit with the
// run's buffered checkpoints; getEvent reads another workflow's event, waiting durably for
// it, and records the value read.
import { waitOn, waitPosition } from './durable-wait.js';
import { WorkflowArgumentError } from './errors.js';
import { recordValue } from './recorded-value.js';
import type { RunState } from './run-state.js';
import { serialize } from './serialize.js';

const EVENT_CHANNEL = 'tableos_wf_event';

export async function setEvent(run: RunState, key: string, value: unknown): Promise<void> {
  if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
    throw new WorkflowArgumentError('event key must be a string of 1 to 255 characters');
  }
  const seq = run.history.next();
  if (run.history.replayed(seq, 'set_event', key)) return;
  run.checkLive();
  const text = serialize(value, `event ${key}`);
  const row = await run.operation('wf_set_event', '$13::text, $14::int, $15::text, $16::text', [
    run.workflowId,
    seq,
    key,
    text,
  ]);
  // Recorded already: by this statement's first attempt, whose answer was lost.
  if (row?.rkind === 'recorded') run.adopted(row, 'set_event', key);
}

export async function getEvent<T>(
  run: RunState,
  workflowId: string,
  key: string,
  opts: { timeoutMs?: number } = {},
): Promise<T | undefined> {
  const wait = waitPosition(run, EVENT_CHANNEL, opts.timeoutMs ?? 60_000);
  const name = `${workflowId}/${key}`;
  // Replayed: the value recorded after the wait, without reading or waiting again.
  if (run.history.has(run.history.nextSeq)) {
    return recordValue<T | undefined>(run, 'get_event', name, () => undefined);
  }
  run.checkLive();
  const read = () => run.db('tableos.workflow_event', () => run.rt.readEvent(workflowId, key));
  // The last read is the value recorded: one read when the event is there, and the wait's
  // deadline is then written with the next checkpoint.
  let last = await read();
  wait.record();
  if (!last.found && Date.now() < wait.deadline) {
    // Waiting: the deadline must be durable first, so a restart does not extend the wait.
    await run.checkpoints.flush();
    await waitOn(
      run,
      EVENT_CHANNEL,
      wait.deadline,
      async () => ((last = await read()).found ? true : undefined),
      (p) => p === workflowId,
    );
  }
  return recordValue(run, 'get_event', name, () => last.value as T | undefined);
}
