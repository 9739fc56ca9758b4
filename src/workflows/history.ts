// A run's positions and its recorded history: each call takes the next position and is
// replayed from the call recorded there, if any; a run that no longer matches what is
// recorded stops.
import { NonDeterminismError, WorkflowConflictError } from './errors.js';
import type { CallRow } from './rows.js';
import { deserialize, deserializeError } from './serialize.js';

/** The parts of a recorded call that say what it was and how it ended. */
export interface RecordedCall {
  kind: string | null;
  name: string;
  output: string | null;
  error: string | null;
}

export class History {
  private seq = 0;
  /** Set when the run must end in error whatever the code does (non-determinism, divergence). */
  fatal: Error | undefined;
  /** Set when another run recorded a position first; this run's results are discarded. */
  superseded = false;

  constructor(
    readonly workflowId: string,
    private readonly recorded: Map<number, CallRow>,
  ) {}

  /** The position the next call will get. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Takes the next position. */
  next(): number {
    return this.seq++;
  }

  /** Whether a call is recorded at seq (without checking what it is). */
  has(seq: number): boolean {
    return this.recorded.has(seq);
  }

  /**
   * The call recorded at seq, if any; throws NonDeterminismError (and the run stays failed)
   * when the code now makes another call there.
   */
  replayed(seq: number, kind: string, name: string): CallRow | undefined {
    if (this.fatal) throw this.fatal;
    const r = this.recorded.get(seq);
    if (r === undefined) return undefined;
    if (r.kind !== kind || r.name !== name) {
      this.fatal = new NonDeterminismError(
        this.workflowId,
        seq,
        `${r.kind} ${r.name}`,
        `${kind} ${name}`,
      );
      throw this.fatal;
    }
    return r;
  }

  /** Takes a row found recorded at its position (by another run, or by a lost first attempt) and replays it. */
  adopt(row: CallRow, kind: string, name: string): CallRow {
    this.recorded.set(row.seq, row);
    return this.replayed(row.seq, kind, name) as CallRow;
  }

  /**
   * Compares a call this run wrote with what its position holds; when they differ another
   * run of this workflow recorded the position first: its history stands and this run stops
   * without finishing (its outcome is the other run's).
   */
  check(mine: { seq: number } & RecordedCall, existing: RecordedCall | undefined): void {
    if (existing === undefined || sameCall(mine, existing)) return;
    this.superseded = true;
    this.fatal ??= new WorkflowConflictError(
      `another run of workflow ${this.workflowId} recorded ${existing.kind ?? '?'} ${existing.name} at position ${mine.seq} first; this run stops`,
    );
  }
}

export function sameCall(a: RecordedCall, b: RecordedCall): boolean {
  return a.kind === b.kind && a.name === b.name && a.output === b.output && a.error === b.error;
}

/** The value a recorded call returns on replay (its recorded error is thrown). */
export function replayValue(rec: { output: string | null; error: string | null }): unknown {
  if (rec.error !== null) throw deserializeError(rec.error);
  return deserialize(rec.output);
}
