// The public surface of the workflow service (names prefixed where another service might
// export the same word).
export {
  Workflows,
  currentWorkflowContext,
  type Procedure,
  type Step,
  type Workflow,
  type WorkflowsOptions,
} from './service.js';
export {
  WorkflowAdmin,
  WorkflowHandle,
  type ListOptions as WorkflowListOptions,
  type WaitOptions as WorkflowWaitOptions,
} from './admin.js';
export { WorkflowContext, type ChildHandle, type DurableWaitOptions } from './context.js';
export { workflowMailbox, type WorkflowRecvOptions, type WorkflowSendOptions } from './messages.js';
export * from './errors.js';
export { MAX_PAYLOAD_BYTES as WORKFLOW_MAX_PAYLOAD_BYTES } from './serialize.js';
export type { WorkflowInfo, CallInfo as WorkflowCallInfo } from './rows.js';
export type { StrandedRun } from './versions.js';
export type {
  Isolation as WorkflowIsolation,
  Outcome as WorkflowOutcome,
  ProcedureOptions,
  StartOptions as WorkflowStartOptions,
  StepOptions,
  WorkflowOptions,
  WorkflowStatus,
} from './types.js';
