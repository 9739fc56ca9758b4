// Runs one attempt of a node as a scheduler task. A procedure node runs in a transaction
// (shared with the other procedure nodes of its batch, procedure-batch.ts) that locks its row,
// runs the function and records the output (making its children ready) before COMMIT: its
// writes and its record commit together, and a second run finds it done.
// A step node runs its function outside any transaction and records the output after it:
// at-least-once between the effect and that record.
import { DatabaseUnavailableError, errorMessage } from '../kernel/errors.js';
import { faultPoint } from '../kernel/fault.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import { PG, pgCode } from '../kernel/pg-codes.js';
import { isConnectionLoss } from '../kernel/reconnect.js';
import { inSpan } from '../kernel/tracing.js';
import type { TaskInfo } from '../scheduler/types.js';
import { DagError } from './errors.js';
import { nodeContext, nodeOutcome } from './node-context.js';
import { ProcedureBatch } from './procedure-batch.js';
import * as proc from './procedures.js';
import type { FnRegistry, RegisteredFn } from './registry.js';

/** Longest error text kept on a node. */
const MAX_ERROR = 4000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class NodeRunner {
  private readonly batch: ProcedureBatch;

  constructor(
    private readonly os: Kernel,
    private readonly fns: FnRegistry,
    private readonly log: Logger,
  ) {
    this.batch = new ProcedureBatch(os, fns, log);
  }

  /** Resolves when no procedure batch is queued or in flight. */
  drained(): Promise<void> {
    return this.batch.drained();
  }

  /** The scheduler handler of kind dag:<fn>. */
  async run(fn: RegisteredFn, payload: proc.NodeRef, task: TaskInfo): Promise<null> {
    const ref = { dag: payload.dag, node: payload.node, attempt: payload.attempt };
    const attributes = {
      'tableos.dag.id': ref.dag,
      'tableos.dag.node': ref.node,
      'tableos.dag.attempt': ref.attempt,
      'tableos.dag.fn': fn.name,
      'tableos.task.id': String(task.id),
    };
    await inSpan(`dag node ${fn.name}`, { attributes }, () =>
      fn.kind === 'procedure' ? this.runProcedure(fn, ref, task) : this.runStep(fn, ref, task),
    );
    return null;
  }

  private async runProcedure(fn: RegisteredFn, ref: proc.NodeRef, task: TaskInfo): Promise<void> {
    for (let i = 0; ; i++) {
      let err: unknown;
      try {
        await this.batch.push({ fn, ref, task });
        return;
      } catch (e) {
        // Alone in its batch by then: the error is this node's own.
        if (e instanceof DatabaseUnavailableError || isConnectionLoss(e)) throw e;
        err = e;
      }
      const code = pgCode(err);
      if ((code === PG.serializationFailure || code === PG.deadlockDetected) && i < 5) {
        await sleep(Math.min(1000, 5 * 2 ** i) * (0.5 + Math.random()));
        continue;
      }
      await this.failed(ref, err);
      return;
    }
  }

  private async runStep(fn: RegisteredFn, ref: proc.NodeRef, task: TaskInfo): Promise<void> {
    const sql = this.os.sql;
    const b = await this.os.retrying('tableos.dag_node_begin', () =>
      proc.begin(sql, ref, task.workerId, task.executorId),
    );
    if (!b.runnable) return;
    faultPoint('serverless:node-begun');
    let out: Omit<proc.Finished, 'ref'>;
    try {
      out = nodeOutcome(
        this.fns,
        ref,
        await fn.impl(nodeContext(ref, b, undefined, this.log), ...b.args),
      );
    } catch (err) {
      await this.failed(ref, err);
      return;
    }
    faultPoint('serverless:step-effect-done');
    try {
      // Safe to run twice: a second run finds the attempt finished and returns 'stale'.
      await this.os.retrying('tableos.dag_node_finish', () =>
        proc.finish(sql, ref, out.output, out.spawn),
      );
    } catch (err) {
      if (err instanceof DatabaseUnavailableError) throw err;
      await this.failed(ref, err);
      return;
    }
    faultPoint('serverless:node-committed');
  }

  /** Records a failed attempt (retried by the node's policy, unless its output or spawn was bad). */
  private async failed(ref: proc.NodeRef, err: unknown): Promise<void> {
    // A bad output or spawn fails the same way again: no retries for it.
    const retryable = !(err instanceof DagError);
    const text = (errorMessage(err) || 'error').slice(0, MAX_ERROR);
    this.log.debug(
      { dag: ref.dag, node: ref.node, attempt: ref.attempt, err: text },
      'node failed',
    );
    // Safe to run twice: the second run finds the attempt no longer current.
    await this.os.retrying('tableos.dag_node_fail', () =>
      proc.fail(this.os.sql, ref, text, retryable),
    );
  }
}
