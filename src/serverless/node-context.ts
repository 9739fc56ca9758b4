// What a node function is given (its context) and what is made of what it returns (its
// output as JSON, and the nodes it spawns).
import type { TransactionSql } from '../kernel/database.js';
import type { Logger } from '../kernel/logger.js';
import { DagInvalidError } from './errors.js';
import { normalNode } from './graph.js';
import { expansion, isExpansion, toJsonText } from './output.js';
import type * as proc from './procedures.js';
import type { FnRegistry } from './registry.js';
import type { DagNodeContext, DagNodeStatus } from './types.js';

export function nodeContext(
  ref: proc.NodeRef,
  b: proc.Begun,
  tx: TransactionSql | undefined,
  parentLog: Logger,
): DagNodeContext {
  let log: Logger | undefined;
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
    get log(): Logger {
      log ??= parentLog.child({ dag: ref.dag, node: ref.node, attempt: ref.attempt });
      return log;
    },
    spawn: expansion,
  };
}

/** The output text and spawned nodes of a returned value; DagOutputError for bad output. */
export function nodeOutcome(
  fns: FnRegistry,
  ref: proc.NodeRef,
  value: unknown,
): Omit<proc.Finished, 'ref'> {
  const what = `the output of node ${JSON.stringify(ref.node)}`;
  if (!isExpansion(value)) return { output: toJsonText(value ?? null, what), spawn: null };
  const s = value.spawn;
  if (!Array.isArray(s?.nodes))
    throw new DagInvalidError(`node ${ref.node}: spawn needs { nodes: [...] }`);
  const nodes = s.nodes.map((n, i) => normalNode(fns, n, {}, `spawned node ${i} of ${ref.node}`));
  const fanIn =
    s.fanIn === undefined ? null : normalNode(fns, s.fanIn, {}, `fan-in of ${ref.node}`);
  const ids = new Set<string>();
  for (const n of [...nodes, ...(fanIn ? [fanIn] : [])]) {
    if (ids.has(n.id))
      throw new DagInvalidError(`node ${ref.node} spawns node id ${JSON.stringify(n.id)} twice`);
    ids.add(n.id);
  }
  return { output: toJsonText(s.output ?? null, what), spawn: { nodes, fanIn } };
}
