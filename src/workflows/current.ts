// Which workflow the running code belongs to: procedures and steps called through their own
// run() find their context here.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { WorkflowContext } from './context.js';

export const currentRun = new AsyncLocalStorage<WorkflowContext>();

/** The context of the workflow this code runs in, if any. */
export function currentWorkflowContext(): WorkflowContext | undefined {
  return currentRun.getStore();
}
