// The text drawing of `tableos dag show`: nodes in levels (longest path from a root), each with
// its state, and each node's parents in edge order.
import type { DagDetail, DagNodeInfo } from '../../serverless/types.js';
import { formatTime } from '../format.js';

/** Most nodes drawn on one level; the rest are counted. */
const PER_LEVEL = 8;

export function levels(nodes: readonly DagNodeInfo[]): DagNodeInfo[][] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = new Map<string, number>();
  // Iterative, parents first: a node's level is one more than its deepest parent's.
  const visit = (start: DagNodeInfo): number => {
    const stack: DagNodeInfo[] = [start];
    while (stack.length > 0) {
      const n = stack[stack.length - 1]!;
      const pending = n.parents.filter((p) => !depth.has(p) && byId.has(p));
      if (pending.length > 0) {
        stack.push(...pending.map((p) => byId.get(p)!));
        continue;
      }
      stack.pop();
      depth.set(n.id, Math.max(-1, ...n.parents.map((p) => depth.get(p) ?? -1)) + 1);
    }
    return depth.get(start.id)!;
  };
  const out: DagNodeInfo[][] = [];
  for (const n of nodes) {
    const d = depth.get(n.id) ?? visit(n);
    (out[d] ??= []).push(n);
  }
  return out.map((l) => l ?? []);
}

export function drawDag(d: DagDetail): string {
  const lines = [
    `dag ${d.id}: ${d.status}, ${d.nodeCount} nodes (${d.remaining} to finish), created ${formatTime(d.createdAt)}` +
      (d.finishedAt ? `, ended ${formatTime(d.finishedAt)}` : '') +
      (d.error ? `\n  error: ${d.error}` : ''),
  ];
  levels(d.nodes).forEach((level, i) => {
    const shown = level.slice(0, PER_LEVEL).map((n) => `${n.id} [${n.status}]`);
    const more = level.length > PER_LEVEL ? `  ... and ${level.length - PER_LEVEL} more` : '';
    lines.push(`  ${String(i).padStart(2)} | ${shown.join('   ')}${more}`);
  });
  const withParents = d.nodes.filter((n) => n.parents.length > 0);
  if (withParents.length > 0) {
    lines.push('  edges (parents in input order):');
    for (const n of withParents.slice(0, 50)) lines.push(`    ${n.id} <- ${n.parents.join(', ')}`);
    if (withParents.length > 50) lines.push(`    ... and ${withParents.length - 50} more`);
  }
  return lines.join('\n');
}
