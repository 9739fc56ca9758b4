// os.serverless: functions registered as graph nodes, graphs submitted as rows, each ready
// node placed by the scheduler as a task with its memory and locality key.
import crypto from 'node:crypto';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../kernel/logger.js';
import { waitUntil } from '../kernel/wait.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { TransactionSql } from '../kernel/database.js';
import {
  DagCancelledError,
  DagError,
  DagFailedError,
  DagInvalidError,
  DagResultTimeoutError,
  DagTimedOutError,
} from './errors.js';
import { MAX_DAG_NODES, NODE_ID, normalGraph } from './graph.js';
import { NodeRunner } from './node-runner.js';
import * as proc from './procedures.js';
import { FnRegistry } from './registry.js';
import { toDag, toNode } from './rows.js';
import type {
  DagDetail,
  DagFnImpl,
  DagFnOptions,
  DagFunction,
  DagGraph,
  DagInfo,
  DagStatus,
  ServerlessOptions,
} from './types.js';

/** The scheduler task kind that times a graph out. */
export const DAG_TIMEOUT_KIND = 'dag.timeout';
const CHANNEL = 'tableos_dag';
const STATUSES = new Set<DagStatus>(['running', 'done', 'failed', 'cancelled', 'timed_out']);

/** A submitted graph: wait for the outputs of its sink nodes. */
export class DagHandle {
  constructor(
    readonly id: string,
    /** True when the id was submitted before (with the same graph) and this is that dag. */
    readonly existed: boolean,
    private readonly service: Serverless,
  ) {}

  result(opts: { timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    return this.service.result(this.id, opts);
  }

  get(): Promise<DagDetail> {
    return this.service.get(this.id);
  }
}

function checkId(id: unknown): void {
  if (typeof id !== 'string' || !NODE_ID.test(id))
    throw new DagInvalidError(
      `invalid dag id ${JSON.stringify(id)}: use 1-128 letters, digits, . _ : -`,
    );
}

export class Serverless {
  private readonly fns = new FnRegistry();
  private readonly runner: NodeRunner;
  private readonly log: Logger;
  private readonly queue: string;
  private readonly maxNodes: number;
  private readonly pollMs: number;

  constructor(
    private readonly os: Kernel,
    private readonly scheduler: Scheduler,
    opts: ServerlessOptions = {},
  ) {
    this.log = os.logger('serverless');
    this.queue = opts.queue ?? 'dag';
    this.maxNodes = opts.maxNodes ?? MAX_DAG_NODES;
    this.pollMs = opts.pollMs ?? 5000;
    this.runner = new NodeRunner(os, this.fns, this.log);
    // Cancelling twice is harmless: a dag that has ended is returned as it is.
    scheduler.register(DAG_TIMEOUT_KIND, async (p: { dag: string }) => {
      await this.os.retrying('tableos.dag_cancel', () =>
        proc.cancel(this.os.sql, p.dag, 'timed_out', 'the graph did not finish within its timeout'),
      );
      return null;
    });
  }

  /**
   * Registers a function nodes can run. Executors that run the scheduler (os.scheduler.start)
   * and registered it take its nodes.
   */
  fn<A extends unknown[]>(
    name: string,
    impl: (ctx: Parameters<DagFnImpl>[0], ...args: A) => unknown,
    opts: DagFnOptions,
  ): DagFunction {
    const fn = this.fns.add(name, impl as DagFnImpl, opts);
    this.scheduler.register(`dag:${name}`, (payload: proc.NodeRef, task) =>
      this.runner.run(fn, payload, task),
    );
    return { name: fn.name, kind: fn.kind, memoryMb: fn.memoryMb };
  }

  /**
   * Stores the graph and enqueues its roots, in one statement: all of it or (on bad input)
   * nothing. `id` is the idempotency key: the same id and graph again returns that dag.
   */
  async submit(graph: DagGraph, opts: { id?: string } = {}): Promise<DagHandle> {
    const id = opts.id ?? `dag-${crypto.randomUUID()}`;
    if (typeof id !== 'string' || !NODE_ID.test(id))
      throw new DagInvalidError(
        `invalid dag id ${JSON.stringify(id)}: use 1-128 letters, digits, . _ : -`,
      );
    const g = normalGraph(this.fns, graph, this.maxNodes);
    // Safe to run twice: a second run finds the dag by id with the same digest.
    const r = await this.os.retrying('tableos.dag_submit', () =>
      proc.submit(this.os.sql, id, this.queue, this.maxNodes, g),
    );
    return new DagHandle(r.id, r.existed, this);
  }

  /** Stores the graph in the caller's transaction (e.g. an HTTP request's exactly-once run). */
  async submitIn(
    tx: TransactionSql,
    graph: DagGraph,
    id: string = `dag-${crypto.randomUUID()}`,
  ): Promise<{ id: string; existed: boolean }> {
    checkId(id);
    return proc.submit(
      tx,
      id,
      this.queue,
      this.maxNodes,
      normalGraph(this.fns, graph, this.maxNodes),
    );
  }

  /** What is wrong with a graph (unknown function, cycle, missing node, ...), or undefined. */
  problemWith(graph: DagGraph): string | undefined {
    try {
      normalGraph(this.fns, graph, this.maxNodes);
      return undefined;
    } catch (err) {
      if (err instanceof DagError) return err.message;
      throw err;
    }
  }

  handle(id: string): DagHandle {
    return new DagHandle(id, true, this);
  }

  async info(id: string): Promise<DagInfo> {
    return toDag(await this.os.retrying('tableos.dag_get', () => proc.get(this.os.sql, id)));
  }

  /** The dag and each of its nodes (state, placement, attempts, timing, output). */
  async get(id: string): Promise<DagDetail> {
    const dag = await this.info(id);
    const nodes = await this.os.retrying('tableos.dag_node', () => proc.nodes(this.os.sql, id));
    return { ...dag, nodes: nodes.map(toNode) };
  }

  async list(filter: { status?: DagStatus; limit?: number } = {}): Promise<DagInfo[]> {
    if (filter.status !== undefined && !STATUSES.has(filter.status))
      throw new DagInvalidError(
        `unknown dag status ${JSON.stringify(filter.status)}; one of ${[...STATUSES].join(', ')}`,
      );
    const limit = filter.limit ?? 100;
    const rows = await this.os.retrying('tableos.dag', () =>
      proc.list(this.os.sql, filter.status ?? null, limit),
    );
    return rows.map(toDag);
  }

  /** Cancels a running graph: nodes not started are cancelled; running ones finish. */
  async cancel(id: string): Promise<DagInfo> {
    return toDag(
      await this.os.retrying('tableos.dag_cancel', () =>
        proc.cancel(this.os.sql, id, 'cancelled', 'cancelled'),
      ),
    );
  }

  /**
   * The outputs of the sink nodes, by node id, once the dag is done; rejects with
   * DagFailedError, DagCancelledError or DagTimedOutError when it ended otherwise.
   */
  async result(id: string, opts: { timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    const timeoutMs = opts.timeoutMs ?? Infinity;
    const ended = await waitUntil(
      this.os.notifier,
      async () => {
        const d = await this.info(id);
        return d.status === 'running' ? undefined : d;
      },
      {
        channel: CHANNEL,
        deadline: Date.now() + timeoutMs,
        pollMs: this.pollMs,
        filter: (p) => p === id,
      },
    );
    if (ended === undefined) throw new DagResultTimeoutError(id, timeoutMs);
    if (ended.status === 'failed') throw new DagFailedError(id, ended.error);
    if (ended.status === 'cancelled') throw new DagCancelledError(id);
    if (ended.status === 'timed_out') throw new DagTimedOutError(id);
    return this.os.retrying('tableos.dag_node', () => proc.sinks(this.os.sql, id));
  }

  /** Lets procedure batches in flight commit; the scheduler, closed next, drains the rest. */
  close(): Promise<void> {
    return this.runner.drained();
  }
}
