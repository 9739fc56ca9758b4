// Rows of tableos.dag and tableos.dag_node as the service's calls return them (camelCase).
import type {
  DagFnKind,
  DagInfo,
  DagNodeInfo,
  DagNodeStatus,
  DagOnFailure,
  DagStatus,
} from './types.js';

export interface DagRow {
  id: string;
  graph_hash: string;
  queue: string;
  status: DagStatus;
  node_count: number;
  remaining: number;
  max_nodes: number;
  deadline: Date | null;
  error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

export interface NodeInfoRow {
  id: string;
  fn: string;
  kind: DagFnKind;
  args: unknown[];
  status: DagNodeStatus;
  parents: string[];
  memory_mb: number;
  locality_key: string | null;
  attempts: number;
  max_attempts: number;
  on_failure: DagOnFailure;
  task_id: string | null;
  worker_id: string | null;
  executor_id: string | null;
  output: unknown;
  error: string | null;
  spawned_by: string | null;
  ready_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
}

export function toDag(r: DagRow): DagInfo {
  return {
    id: r.id,
    status: r.status,
    queue: r.queue,
    nodeCount: r.node_count,
    remaining: r.remaining,
    deadline: r.deadline,
    error: r.error,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

export function toNode(r: NodeInfoRow): DagNodeInfo {
  return {
    id: r.id,
    fn: r.fn,
    kind: r.kind,
    args: r.args,
    status: r.status,
    parents: r.parents,
    memoryMb: r.memory_mb,
    localityKey: r.locality_key,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    onFailure: r.on_failure,
    taskId: r.task_id === null ? null : String(r.task_id),
    workerId: r.worker_id,
    executorId: r.executor_id,
    output: r.output,
    error: r.error,
    spawnedBy: r.spawned_by,
    readyAt: r.ready_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}
