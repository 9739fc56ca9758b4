// The public surface of the workflow service.
export {
  Workflows,
  currentContext,
  type Procedure,
  type Step,
  type Workflow,
  type WorkflowsOptions,
} from './service.js';
export { WorkflowAdmin, WorkflowHandle, type ListOptions, type WaitOptions } from './admin.js';
export { WorkflowContext, type ChildHandle, type DurableWaitOptions } from './context.js';
export { TableOSClient } from './client.js';
export * from './errors.js';
export { MAX_PAYLOAD_BYTES, serialize, deserialize } from './serialize.js';
export type { WorkflowInfo, CallInfo } from './rows.js';
export type { FaultPoint } from './fault-points.js';
export type {
  Isolation,
  Outcome,
  ProcedureOptions,
  StartOptions,
  StepOptions,
  WorkflowOptions,
  WorkflowStatus,
} from './types.js';
