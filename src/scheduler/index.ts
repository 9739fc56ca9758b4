// The scheduler service: one Scheduler per TableOS node, made on first use.
import type { TableOS } from '../tableos.js';
import { Scheduler } from './scheduler.js';

const instances = new WeakMap<TableOS, Scheduler>();

export function scheduler(os: TableOS): Scheduler {
  let s = instances.get(os);
  if (s === undefined) {
    s = new Scheduler(os);
    instances.set(os, s);
  }
  return s;
}

export { Scheduler, TaskHandle } from './scheduler.js';
export { WORKFLOW_TASK_KIND, type QueuedWorkflowOptions } from './queued-workflows.js';
export * from './errors.js';
export type * from './types.js';
export { MAX_PAYLOAD_BYTES } from './validate.js';
