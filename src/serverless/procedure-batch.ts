// Group commit of procedure nodes: the nodes ready on this executor while a batch is in
// flight run together in the next transaction, each in a savepoint (so one node's error
// rolls back only its own writes), and all are recorded, their children made ready, by one
// statement before the one COMMIT. Each node's writes still commit with its own record.
import { Batcher, type BatchOutcome } from '../kernel/batcher.js';
import { faultPoint } from '../kernel/fault.js';
import type { Kernel } from '../kernel/kernel.js';
import { isConnectionLoss } from '../kernel/reconnect.js';
import type { TaskInfo } from '../scheduler/types.js';
import { nodeContext, nodeOutcome } from './node-context.js';
import * as proc from './procedures.js';
import type { FnRegistry, RegisteredFn } from './registry.js';

export interface ProcedureItem {
  fn: RegisteredFn;
  ref: proc.NodeRef;
  task: TaskInfo;
}

/** ran: committed with its record; skipped: nothing to do; failed: its own error, rolled back. */
export type ProcedureResult = { ran: true } | { ran: false; failed?: unknown };

export class ProcedureBatch {
  private readonly batcher: Batcher<ProcedureItem, ProcedureResult>;

  constructor(
    private readonly os: Kernel,
    private readonly fns: FnRegistry,
  ) {
    // A failed statement (a spawn refused in SQL) runs each node alone, so it fails only its own.
    this.batcher = Batcher.settling((items) => this.run(items), {
      maxBatch: 64,
      maxInFlight: 4,
      gather: 'immediate',
      regather: false,
      onFailure: 'retry-each',
    });
  }

  push(item: ProcedureItem): Promise<ProcedureResult> {
    return this.batcher.push(item);
  }

  drained(): Promise<void> {
    return this.batcher.drained();
  }

  private async run(items: ProcedureItem[]): Promise<BatchOutcome<ProcedureResult>[]> {
    let results: ProcedureResult[] = [];
    // After a lost connection the transaction runs again; nodes whose first run committed
    // are found done by dag_node_begin and skipped.
    await this.os.retrying('serverless procedure nodes', async () => {
      await this.os.sql.begin(async (tx) => {
        results = [];
        const done: proc.Finished[] = [];
        const seen = new Set<string>();
        for (const { fn, ref, task } of items) {
          // The same node twice in one transaction would pass its own row lock: run it once.
          const key = JSON.stringify([ref.dag, ref.node]);
          if (seen.has(key)) {
            results.push({ ran: false });
            continue;
          }
          seen.add(key);
          try {
            const out = await tx.savepoint(async (sp) => {
              const b = await proc.begin(sp, ref, task.workerId, task.executorId);
              if (!b.runnable) return undefined;
              faultPoint('serverless:node-begun');
              return nodeOutcome(this.fns, ref, await fn.impl(nodeContext(ref, b, sp), ...b.args));
            });
            if (out !== undefined) done.push({ ref, ...out });
            results.push({ ran: out !== undefined });
          } catch (err) {
            if (isConnectionLoss(err)) throw err;
            results.push({ ran: false, failed: err });
          }
        }
        faultPoint('serverless:before-finish');
        if (done.length > 0) await proc.finishMany(tx, done);
      });
      // Inside the retry: a `~disconnect` here loses the answer of a committed batch.
      for (const r of results) if (r.ran) faultPoint('serverless:node-committed');
    });
    return results.map((value) => ({ ok: true as const, value }));
  }
}
