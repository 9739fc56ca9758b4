// Checks and normalises a submitted graph before the one statement that stores it: node ids,
// functions, edges to missing nodes, cycles (named), limits; and its digest for the id.
import crypto from 'node:crypto';
import { DagCycleError, DagInvalidError, DagMissingNodeError, DagTooLargeError } from './errors.js';
import { toJsonText } from './output.js';
import type { FnRegistry } from './registry.js';
import type { DagEdgeSpec, DagGraph, DagNodeSpec, DagPolicy } from './types.js';

/** The most nodes one graph may have, the nodes it spawns included. */
export const MAX_DAG_NODES = 10_000;
export const NODE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A node as the dag_* procedures store it. */
export interface NodeRow {
  id: string;
  fn: string;
  kind: string;
  args: unknown;
  memory_mb: number;
  locality_key: string | null;
  max_attempts: number;
  backoff_ms: number;
  on_failure: string;
}

export interface NormalGraph {
  nodes: NodeRow[];
  /** [parent, child, position among the child's parents] */
  edges: [string, string, number][];
  timeoutMs: number | null;
  hash: string;
}

function int(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new DagInvalidError(`${what} must be an integer from ${min} to ${max}, got ${String(v)}`);
  return v;
}

/** One node: its function resolved and its policy filled in from the graph's. */
export function normalNode(
  reg: FnRegistry,
  n: DagNodeSpec,
  dflt: DagPolicy,
  where: string,
): NodeRow {
  if (typeof n !== 'object' || n === null) throw new DagInvalidError(`${where} must be an object`);
  if (typeof n.id !== 'string' || !NODE_ID.test(n.id))
    throw new DagInvalidError(
      `${where} has invalid id ${JSON.stringify(n.id)}: use 1-128 letters, digits, . _ : -`,
    );
  const at = `node ${JSON.stringify(n.id)}`;
  const fn = reg.resolve(n.fn, at);
  const args = n.args ?? [];
  if (!Array.isArray(args)) throw new DagInvalidError(`${at}: args must be an array`);
  toJsonText(args, `args of ${at}`);
  const memoryMb = n.memoryMb ?? fn.memoryMb;
  const retries = n.retries ?? dflt.retries ?? 0;
  const onFailure = n.onFailure ?? dflt.onFailure ?? 'fail';
  if (onFailure !== 'fail' && onFailure !== 'continue')
    throw new DagInvalidError(`${at}: onFailure must be 'fail' or 'continue'`);
  let locality = n.locality;
  if (locality === undefined && fn.locality !== undefined)
    locality = typeof fn.locality === 'string' ? fn.locality : fn.locality(args);
  if (locality !== undefined && (typeof locality !== 'string' || locality.length > 1024))
    throw new DagInvalidError(`${at}: locality must be a string of at most 1024 characters`);
  return {
    id: n.id,
    fn: fn.name,
    kind: fn.kind,
    args,
    memory_mb: int(`${at}: memoryMb`, memoryMb, 0, 2_147_483_647),
    locality_key: locality ?? null,
    max_attempts: int(`${at}: retries`, retries, 0, 100) + 1,
    backoff_ms: int(`${at}: backoffMs`, n.backoffMs ?? dflt.backoffMs ?? 500, 0, 3_600_000),
    on_failure: onFailure,
  };
}

function edgeOf(e: DagEdgeSpec, i: number): [string, string] {
  if (Array.isArray(e) && e.length === 2) return [String(e[0]), String(e[1])];
  if (e !== null && typeof e === 'object' && 'from' in e) return [String(e.from), String(e.to)];
  throw new DagInvalidError(`edge ${i} must be [parent, child] or { from, to }`);
}

/** The nodes of one cycle among `ids`, in order, or undefined when there is none. */
export function findCycle(ids: string[], edges: [string, string][]): string[] | undefined {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const [p, c] of edges) out.get(p)!.push(c);
  // Iterative depth-first search: 0 unseen, 1 on the current path, 2 finished.
  const state = new Map<string, number>();
  for (const start of ids) {
    if (state.has(start)) continue;
    const path: string[] = [];
    const stack: { id: string; i: number }[] = [{ id: start, i: 0 }];
    state.set(start, 1);
    path.push(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = out.get(top.id)![top.i++];
      if (next === undefined) {
        state.set(top.id, 2);
        stack.pop();
        path.pop();
      } else if (state.get(next) === 1) {
        return path.slice(path.indexOf(next));
      } else if (!state.has(next)) {
        state.set(next, 1);
        path.push(next);
        stack.push({ id: next, i: 0 });
      }
    }
  }
  return undefined;
}

export function normalGraph(reg: FnRegistry, g: DagGraph, maxNodes: number): NormalGraph {
  if (typeof g !== 'object' || g === null || !Array.isArray(g.nodes))
    throw new DagInvalidError('a graph is { nodes: [...], edges: [...] }');
  if (g.nodes.length === 0) throw new DagInvalidError('a graph needs at least one node');
  if (g.nodes.length > maxNodes)
    throw new DagTooLargeError(
      `the graph has ${g.nodes.length} nodes; at most ${maxNodes} are allowed`,
    );
  const policy: DagPolicy = {
    ...(g.retries === undefined ? {} : { retries: g.retries }),
    ...(g.backoffMs === undefined ? {} : { backoffMs: g.backoffMs }),
    ...(g.onFailure === undefined ? {} : { onFailure: g.onFailure }),
  };
  const nodes = g.nodes.map((n, i) => normalNode(reg, n, policy, `node ${i}`));
  const ids = new Set<string>();
  for (const n of nodes) {
    if (ids.has(n.id)) throw new DagInvalidError(`node id ${JSON.stringify(n.id)} is used twice`);
    ids.add(n.id);
  }
  const raw = (g.edges ?? []).map(edgeOf);
  const seen = new Set<string>();
  const position = new Map<string, number>();
  const edges: [string, string, number][] = [];
  for (const [p, c] of raw) {
    for (const end of [p, c])
      if (!ids.has(end))
        throw new DagMissingNodeError(
          `edge ${JSON.stringify(p)} -> ${JSON.stringify(c)} names node ${JSON.stringify(end)}, which the graph does not have`,
        );
    if (p === c) throw new DagCycleError([p]);
    const key = JSON.stringify([p, c]);
    if (seen.has(key))
      throw new DagInvalidError(`edge ${JSON.stringify(p)} -> ${JSON.stringify(c)} is given twice`);
    seen.add(key);
    const pos = position.get(c) ?? 0;
    position.set(c, pos + 1);
    edges.push([p, c, pos]);
  }
  const cycle = findCycle([...ids], raw);
  if (cycle !== undefined) throw new DagCycleError(cycle);
  let timeoutMs: number | null = null;
  if (g.timeoutMs !== undefined) timeoutMs = int('timeoutMs', g.timeoutMs, 1, 2_147_483_647);
  const hash = crypto
    .createHash('sha256')
    .update(JSON.stringify({ nodes, edges, timeoutMs }))
    .digest('hex');
  return { nodes, edges, timeoutMs, hash };
}
