// What the serverless service's calls take and return (camelCase, mapped from rows in rows.ts).
import type { Logger } from '../kernel/logger.js';
import type { TransactionSql } from '../kernel/database.js';

export type DagStatus = 'running' | 'done' | 'failed' | 'cancelled' | 'timed_out';
export type DagNodeStatus = 'waiting' | 'ready' | 'running' | 'done' | 'failed' | 'cancelled';
export type DagFnKind = 'procedure' | 'step';
/** After the last retry: fail the whole graph, or go on with the node marked failed. */
export type DagOnFailure = 'fail' | 'continue';

export interface DagFnOptions {
  /** Memory the node may use; it starts only on a worker with that much free (default 0). */
  memoryMb?: number;
  /** procedure: one transaction, output committed with the writes; step: at-least-once. */
  kind: DagFnKind;
  /** The data the node reads (a shard a worker declares): fixed, or from the node's args. */
  locality?: string | ((args: unknown[]) => string | undefined);
}

/** What a node function gets: its parents' outputs, and (procedures) the transaction. */
export interface DagNodeContext {
  readonly dagId: string;
  readonly nodeId: string;
  readonly attempt: number;
  /** The parents' outputs, in edge order (null for a parent that failed under `continue`). */
  readonly inputs: unknown[];
  /** The parents, in edge order, with their state. */
  readonly parents: { id: string; status: DagNodeStatus; error: string | null }[];
  /** The node's transaction (procedure nodes only; a step node throws on access). */
  readonly tx: TransactionSql;
  /** The serverless service's logger with the dag, node and attempt on every line. */
  readonly log: Logger;
  /** Returns new child nodes made from this node's result, and optionally a fan-in over them. */
  spawn(children: DagSpawn): DagExpansion;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DagFnImpl = (ctx: DagNodeContext, ...args: any[]) => unknown;

/** A registered function, as os.serverless.fn returns it. */
export interface DagFunction {
  readonly name: string;
  readonly kind: DagFnKind;
  readonly memoryMb: number;
}

export interface DagPolicy {
  /** Retries after the first attempt (default 0). */
  retries?: number;
  /** Pause before the first retry, doubling after each (default 500 ms, at most 60 s). */
  backoffMs?: number;
  /** What a node's final failure does (default fail). */
  onFailure?: DagOnFailure;
}

export interface DagNodeSpec extends DagPolicy {
  /** 1-128 of A-Z a-z 0-9 . _ : - */
  id: string;
  fn: string | DagFunction;
  /** Static arguments, after the context. */
  args?: unknown[];
  /** Overrides the function's memoryMb. */
  memoryMb?: number;
  /** Overrides the function's locality. */
  locality?: string;
}

export type DagEdgeSpec = [parent: string, child: string] | { from: string; to: string };

export interface DagGraph extends DagPolicy {
  nodes: DagNodeSpec[];
  /** Parent to child; a child's inputs follow the order of its edges here. */
  edges?: DagEdgeSpec[];
  /** Cancel the whole graph (status timed_out) when it has not finished after this long. */
  timeoutMs?: number;
}

export interface DagSpawn {
  /** The new nodes; ids are prefixed with the spawning node's id and /. */
  nodes: DagNodeSpec[];
  /** One more node over all of them (their outputs in order); it takes over this node's children. */
  fanIn?: DagNodeSpec;
  /** This node's own output (default null). */
  output?: unknown;
}

/** The marker a node returns to grow the graph (made by ctx.spawn). */
export interface DagExpansion {
  readonly spawn: DagSpawn;
}

export interface DagNodeInfo {
  id: string;
  fn: string;
  kind: DagFnKind;
  args: unknown[];
  status: DagNodeStatus;
  /** The node's parents, in edge order. */
  parents: string[];
  memoryMb: number;
  localityKey: string | null;
  attempts: number;
  maxAttempts: number;
  onFailure: DagOnFailure;
  taskId: string | null;
  workerId: string | null;
  executorId: string | null;
  output: unknown;
  error: string | null;
  spawnedBy: string | null;
  readyAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface DagInfo {
  id: string;
  status: DagStatus;
  queue: string;
  nodeCount: number;
  remaining: number;
  deadline: Date | null;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface DagDetail extends DagInfo {
  nodes: DagNodeInfo[];
}

export interface ServerlessOptions {
  /** Scheduler queue of the nodes' tasks (default `dag`; made by the first submit when missing). */
  queue?: string;
  /** Most nodes a graph may have, dynamic ones included (default and at most MAX_DAG_NODES). */
  maxNodes?: number;
  /** Slow poll of result waits when no notification arrives (default 5000 ms). */
  pollMs?: number;
}
