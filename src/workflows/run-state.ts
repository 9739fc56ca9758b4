// The state of one run that every kind of call works with: its history, its checkpoint
// buffer, whether it was stopped, and the one way its statements reach the database.
import { DatabaseUnavailableError, QueryError } from '../kernel/errors.js';
import { queryRows } from '../kernel/query.js';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { TraceContext } from '../kernel/tracing.js';
import { PG } from '../kernel/pg-codes.js';
import { Checkpoints } from './checkpoints.js';
import { History, replayValue } from './history.js';
import type { CallRow } from './rows.js';
import type { Runtime } from './runtime.js';
import { serializeError } from './serialize.js';
import { StopSignal } from './stop-signal.js';
import { CARRIED_ARGS, carriedParams } from './store.js';

/** A row of an operation that carries the run's checkpoints (wf_send, wf_recv, wf_set_event). */
export interface OperationRow {
  /** conflict: a carried position recorded already; recorded: the operation's position was; done; none. */
  rkind: 'conflict' | 'recorded' | 'done' | 'none';
  seq: number;
  kind: string | null;
  name: string;
  output: string | null;
  error: string | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class RunState {
  readonly history: History;
  readonly checkpoints: Checkpoints;
  readonly stop = new StopSignal();
  /**
   * Set when a statement gave up after the reconnect deadline: the run records nothing more
   * and stops here; it stays pending and is resumed from its history once the database is back.
   */
  databaseLost: DatabaseUnavailableError | undefined;

  constructor(
    readonly rt: Runtime,
    readonly workflowId: string,
    readonly workflowName: string,
    recorded: Map<number, CallRow>,
    /** The run's trace span, the parent of its calls' spans. */
    readonly trace: TraceContext = ROOT_CONTEXT,
  ) {
    this.history = new History(workflowId, recorded);
    this.checkpoints = new Checkpoints(rt.store, rt.log, this.history, (err) => {
      this.databaseLost ??= err;
    });
  }

  /** Throws when the run must not make another call: stopped, failed, or cut off from the database. */
  checkLive(): void {
    if (this.stop.error) throw this.stop.error;
    if (this.history.fatal) throw this.history.fatal;
    if (this.databaseLost) throw this.databaseLost;
  }

  /**
   * Runs a statement of this run, again after each lost connection; past the reconnect
   * deadline the run is marked databaseLost and stops.
   */
  async db<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await this.rt.retrying(what, op);
    } catch (err) {
      if (err instanceof DatabaseUnavailableError) this.databaseLost ??= err;
      throw err;
    }
  }

  /**
   * Runs an operation's one statement (`select * from tableos.<name>(CARRIED_ARGS, $13...)`),
   * carrying the buffered checkpoints, and returns the operation's own row. After a
   * deadlock the statement runs again; committed is called inside the retried part once it
   * has done its work, so a fault point there is retried as a lost answer would be.
   */
  async operation(
    name: string,
    args: string,
    params: unknown[],
    committed?: () => void,
  ): Promise<OperationRow | undefined> {
    const text = `select * from tableos.${name}(${CARRIED_ARGS}, ${args})`;
    const row = await this.checkpoints.carry(async (c) => {
      const all = [...carriedParams(this.rt.store.executorId(), c.start, c.calls), ...params];
      const rows = await this.db(`tableos.${name}`, async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            const rows = await queryRows<OperationRow>(this.rt.sql, `tableos.${name}`, text, all);
            if (rows.some((r) => r.rkind === 'done')) committed?.();
            return rows;
          } catch (err) {
            const code = err instanceof QueryError ? err.sqlState : undefined;
            if ((code !== PG.deadlockDetected && code !== PG.serializationFailure) || attempt >= 5)
              throw err;
            await sleep(Math.min(1000, 5 * 2 ** attempt) * (0.5 + Math.random()));
          }
        }
      });
      return {
        value: rows.find((r) => r.rkind !== 'conflict'),
        recorded: rows.filter((r) => r.rkind === 'conflict'),
      };
    });
    // A carried position held another run's call: that run's history stands, nothing was done.
    if (this.history.fatal) throw this.history.fatal;
    return row;
  }

  /** The value of an operation's row that found its position recorded, checked against the call. */
  adopted(row: OperationRow, kind: string, name: string): unknown {
    const call: CallRow = {
      workflow_id: this.workflowId,
      seq: row.seq,
      kind: row.kind ?? '?',
      name: row.name,
      output: row.output,
      error: row.error,
      started_at: null,
      ended_at: new Date(),
    };
    const rec = this.history.adopt(call, kind, name);
    return replayValue(rec);
  }

  /** Records a call's failure at its position and makes it durable before the error is thrown. */
  async recordFailure(
    seq: number,
    kind: string,
    name: string,
    err: unknown,
    startedAt: Date | null,
  ): Promise<void> {
    this.checkpoints.record({
      workflowId: this.workflowId,
      seq,
      kind,
      name,
      output: null,
      error: serializeError(err),
      startedAt,
    });
    await this.checkpoints.flush();
  }
}
