// The node's Prometheus metrics (prom-client), one registry per node. Hot paths only increment
// counters in memory; gauges whose truth is a table are set at scrape time (src/http/metrics.ts).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: 1 ms to 60 s, the range of a step or a transaction. */
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60];

export class Metrics {
  readonly registry = new Registry();

  readonly workflowsStarted = new Counter({
    name: 'tableos_workflows_started_total',
    help: 'Workflow runs begun in this process (new, resumed or taken over)',
    registers: [this.registry],
  });

  readonly workflowsFinished = new Counter({
    name: 'tableos_workflows_finished_total',
    help: 'Workflow runs that ended in this process, by outcome',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly callDuration = new Histogram({
    name: 'tableos_workflow_call_duration_seconds',
    help: 'Duration of the calls workflows made here (step, procedure), by kind',
    labelNames: ['kind'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });

  readonly placementLatency = new Histogram({
    name: 'tableos_task_placement_seconds',
    help: 'From a task being enqueued (or due) to its start on a worker of this process',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300],
    registers: [this.registry],
  });

  readonly messagesSent = new Counter({
    name: 'tableos_messages_sent_total',
    help: 'Messages sent from this process (one per receiver)',
    registers: [this.registry],
  });

  readonly messagesReceived = new Counter({
    name: 'tableos_messages_received_total',
    help: 'Messages taken by receivers in this process',
    registers: [this.registry],
  });

  readonly fsOperations = new Counter({
    name: 'tableos_fs_operations_total',
    help: 'File-system procedure calls made by this process, by operation',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });

  // Table-derived, set at scrape time.
  readonly executorsAlive = this.gauge('tableos_executors_alive', 'Executors with a live lease');
  readonly queueDepth = this.gauge('tableos_queue_depth', 'Queued tasks per queue', ['queue']);
  readonly tasks = this.gauge(
    'tableos_tasks',
    'Tasks by state (queued, assigned, running: the states a bounded index covers)',
    ['state'],
  );
  readonly workflows = this.gauge(
    'tableos_workflows',
    'Workflow runs not yet finished, by status (enqueued, pending)',
    ['status'],
  );
  readonly poolMax = this.gauge('tableos_pool_max_connections', "This process's pool size");
  readonly dbConnections = this.gauge(
    'tableos_db_connections',
    'Connections of TableOS processes to this database (all nodes), by state',
    ['state'],
  );

  private gauge<L extends string>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** Records a workflow call's duration from its start. */
  observeCall(kind: string, startedAt: Date): void {
    this.callDuration.observe({ kind }, (Date.now() - startedAt.getTime()) / 1000);
  }
}
