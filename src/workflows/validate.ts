// Checks on user input at the API boundary, before anything is written.
import { WorkflowArgumentError } from './errors.js';

const ID = /^[A-Za-z0-9._:@/+=-]{1,255}$/;

export function checkId(id: unknown, what = 'workflow id'): string {
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new WorkflowArgumentError(
      `${what} must be 1-255 characters of letters, digits and . _ : @ / + = -, got ${JSON.stringify(id)?.slice(0, 80) ?? String(id)}`,
    );
  }
  return id;
}

export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || /[\s\0]/.test(name)) {
    throw new WorkflowArgumentError(
      `${what} name must be 1-200 characters without spaces, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

export function checkFn(fn: unknown, what: string): void {
  if (typeof fn !== 'function')
    throw new WorkflowArgumentError(`${what} needs a function, got ${typeof fn}`);
}

/** Arguments must be an array with at least as many values as the function's required parameters. */
export function checkArgs(args: unknown, required: number, what: string): unknown[] {
  if (!Array.isArray(args)) {
    throw new WorkflowArgumentError(`${what} takes its arguments as an array, got ${typeof args}`);
  }
  if (args.length < required) {
    throw new WorkflowArgumentError(
      `${what} expects ${required} argument${required === 1 ? '' : 's'}, got ${args.length}`,
    );
  }
  return args;
}

export function checkMs(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new WorkflowArgumentError(
      `${what} must be a number of milliseconds >= 0, got ${typeof v === 'number' ? v : typeof v}`,
    );
  }
  return v;
}
