// Group commit of procedure nodes: the nodes ready on this executor while a batch is in
// flight run together in the next transaction: one statement starts them all, their
// functions run one after the other, one statement records them all (making their children
// ready) before the one COMMIT. Each node's writes still commit with its own record.
import { Batcher, type BatchOutcome } from '../kernel/batcher.js';
import { faultPoint } from '../kernel/fault.js';
import type { Logger } from '../kernel/logger.js';
import type { Kernel } from '../kernel/kernel.js';
import type { TaskInfo } from '../scheduler/types.js';
import { nodeContext, nodeOutcome } from './node-context.js';
import * as proc from './procedures.js';
import type { FnRegistry, RegisteredFn } from './registry.js';

export interface ProcedureItem {
  fn: RegisteredFn;
  ref: proc.NodeRef;
  task: TaskInfo;
}

/** ran: committed with its record; else there was nothing to do (done, stopped, elsewhere). */
export type ProcedureResult = { ran: boolean };

export class ProcedureBatch {
  private readonly batcher: Batcher<ProcedureItem, ProcedureResult>;

  constructor(
    private readonly os: Kernel,
    private readonly fns: FnRegistry,
    private readonly log: Logger,
  ) {
    // A failed batch (a node's error, a spawn refused in SQL) runs each node alone.
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
    // are found done by dag_node_begin and skipped. A node's own error rolls the whole batch
    // back; the batcher then runs each node alone, so it fails only itself.
    await this.os.retrying('serverless procedure nodes', async () => {
      await this.os.sql.begin(async (tx) => {
        results = items.map(() => ({ ran: false }));
        // The same node twice in one transaction would pass its own row lock: run it once.
        const seen = new Set<string>();
        const first = items.flatMap((it, i) => {
          const key = JSON.stringify([it.ref.dag, it.ref.node]);
          if (seen.has(key)) return [];
          seen.add(key);
          return [i];
        });
        const begun = await proc.beginMany(
          tx,
          first.map((i) => ({
            ref: items[i]!.ref,
            worker: items[i]!.task.workerId,
            executor: items[i]!.task.executorId,
          })),
        );
        const done: proc.Finished[] = [];
        for (const [k, i] of first.entries()) {
          const b = begun[k]!;
          if (!b.runnable) continue;
          const { fn, ref } = items[i]!;
          faultPoint('serverless:node-begun');
          const out = nodeOutcome(
            this.fns,
            ref,
            await fn.impl(nodeContext(ref, b, tx, this.log), ...b.args),
          );
          done.push({ ref, ...out });
          results[i] = { ran: true };
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
