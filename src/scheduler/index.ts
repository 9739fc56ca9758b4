// The scheduler service's public surface: one Scheduler per TableOS node, as os.scheduler.

export { Scheduler, TaskHandle } from './scheduler.js';
export { WORKFLOW_TASK_KIND, type QueuedWorkflowOptions } from './queued-workflows.js';
export * from './errors.js';
export type * from './types.js';
export { MAX_PAYLOAD_BYTES } from './validate.js';
