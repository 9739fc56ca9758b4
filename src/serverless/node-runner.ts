// Runs one attempt of a node as a scheduler task. A procedure node runs in one transaction
// that locks its row, runs the function and records the output (making its children ready)
// before COMMIT: its writes and its record commit together, and a second run finds it done.
// A step node runs its function outside any transaction and records the output after it:
// at-least-once between the effect and that record.
import type { TransactionSql } from '../kernel/database.js';
import { DatabaseUnavailableError, errorMessage } from '../kernel/errors.js';
import { faultPoint } from '../kernel/fault.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import { PG, pgCode } from '../kernel/pg-codes.js';
import { isConnectionLoss } from '../kernel/reconnect.js';
import type { TaskInfo } from '../scheduler/types.js';
import { DagInvalidError, DagOutputError } from './errors.js';
import { normalNode, type NodeRow } from './graph.js';
import { expansion, isExpansion, toJsonText } from './output.js';
import * as proc from './procedures.js';
import type { FnRegistry, RegisteredFn } from './registry.js';
import type { DagNodeContext, DagNodeStatus } from './types.js';

/** Longest error text kept on a node. */
const MAX_ERROR = 4000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A node's outcome, ready to record: its output text and what it spawned. */
interface Outcome {
  output: string;
  spawn: { nodes: NodeRow[]; fanIn: NodeRow | null } | null;
}

export class NodeRunner {
  constructor(
    private readonly os: Kernel,
    private readonly fns: FnRegistry,
    private readonly log: Logger,
  ) {}

  /** The scheduler handler of kind dag:<fn>. */
  async run(fn: RegisteredFn, payload: proc.NodeRef, task: TaskInfo): Promise<null> {
    const ref = { dag: payload.dag, node: payload.node, attempt: payload.attempt };
    if (fn.kind === 'procedure') await this.runProcedure(fn, ref, task);
    else await this.runStep(fn, ref, task);
    return null;
  }

  private async runProcedure(fn: RegisteredFn, ref: proc.NodeRef, task: TaskInfo): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        // After a lost connection the transaction runs again; if the first one committed,
        // dag_node_begin finds the node done and this run does nothing.
        const ran = await this.os.retrying('serverless node', () =>
          this.os.sql.begin(async (tx) => {
            const b = await proc.begin(tx, ref, task.workerId, task.executorId);
            if (!b.runnable) return false;
            faultPoint('serverless:node-begun');
            const out = this.outcome(ref, await fn.impl(this.context(ref, b, tx), ...b.args));
            faultPoint('serverless:before-finish');
            await proc.finish(tx, ref, out.output, out.spawn);
            return true;
          }),
        );
        if (ran) faultPoint('serverless:node-committed');
        return;
      } catch (err) {
        if (err instanceof DatabaseUnavailableError || isConnectionLoss(err)) throw err;
        const code = pgCode(err);
        if ((code === PG.serializationFailure || code === PG.deadlockDetected) && i < 5) {
          await sleep(Math.min(1000, 5 * 2 ** i) * (0.5 + Math.random()));
          continue;
        }
        await this.failed(ref, err);
        return;
      }
    }
  }

  private async runStep(fn: RegisteredFn, ref: proc.NodeRef, task: TaskInfo): Promise<void> {
    const sql = this.os.sql;
    const b = await this.os.retrying('tableos.dag_node_begin', () =>
      proc.begin(sql, ref, task.workerId, task.executorId),
    );
    if (!b.runnable) return;
    faultPoint('serverless:node-begun');
    let out: Outcome;
    try {
      out = this.outcome(ref, await fn.impl(this.context(ref, b, undefined), ...b.args));
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

  /** Records a failed attempt (retried by the node's policy, unless the output was bad). */
  private async failed(ref: proc.NodeRef, err: unknown): Promise<void> {
    const retryable = !(err instanceof DagOutputError || err instanceof DagInvalidError);
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

  private context(
    ref: proc.NodeRef,
    b: proc.Begun,
    tx: TransactionSql | undefined,
  ): DagNodeContext {
    return {
      dagId: ref.dag,
      nodeId: ref.node,
      attempt: ref.attempt,
      inputs: b.inputs,
      parents: b.parents.map((p) => ({ ...p, status: p.status as DagNodeStatus })),
      get tx(): TransactionSql {
        if (tx === undefined)
          throw new DagInvalidError(
            `node ${ref.node} is a step and has no transaction; register its function with kind: 'procedure'`,
          );
        return tx;
      },
      spawn: expansion,
    };
  }

  private outcome(ref: proc.NodeRef, value: unknown): Outcome {
    const what = `the output of node ${JSON.stringify(ref.node)}`;
    if (!isExpansion(value)) return { output: toJsonText(value ?? null, what), spawn: null };
    const s = value.spawn;
    if (!Array.isArray(s?.nodes))
      throw new DagInvalidError(`node ${ref.node}: spawn needs { nodes: [...] }`);
    const nodes = s.nodes.map((n, i) =>
      normalNode(this.fns, n, {}, `spawned node ${i} of ${ref.node}`),
    );
    const fanIn =
      s.fanIn === undefined ? null : normalNode(this.fns, s.fanIn, {}, `fan-in of ${ref.node}`);
    const ids = new Set<string>();
    for (const n of [...nodes, ...(fanIn ? [fanIn] : [])]) {
      if (ids.has(n.id))
        throw new DagInvalidError(`node ${ref.node} spawns node id ${JSON.stringify(n.id)} twice`);
      ids.add(n.id);
    }
    return { output: toJsonText(s.output ?? null, what), spawn: { nodes, fanIn } };
  }
}
