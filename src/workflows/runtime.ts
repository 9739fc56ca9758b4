// What a running workflow's context needs from the service that runs it.
import type { Sql } from '../kernel/database.js';
import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import type { Notifier } from '../kernel/notifier.js';
import type { Store } from './store.js';
import type { Outcome, WorkflowDef } from './types.js';

export interface ChildStart {
  id: string;
  parent: string;
  parentSeq: number;
  timeoutMs: number | undefined;
}

export interface Runtime {
  readonly sql: Sql;
  readonly store: Store;
  readonly notifier: Notifier;
  readonly log: Logger;
  /** Counters of runs and calls (in memory). */
  readonly metrics: Metrics;
  /** Fallback poll interval of blocking waits, in case a notification was missed. */
  readonly pollMs: number;
  /** Runs op again after each lost connection until the reconnect deadline; op must be safe to run twice. */
  retrying<T>(what: string, op: () => Promise<T>): Promise<T>;
  startChild(wf: WorkflowDef<never[], unknown>, args: unknown[], o: ChildStart): Promise<void>;
  outcome(id: string): Promise<Outcome>;
  readEvent(workflowId: string, key: string): Promise<{ found: boolean; value: unknown }>;
}
