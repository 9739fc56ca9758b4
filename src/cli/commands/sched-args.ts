// Argument helpers shared by the scheduler's commands (sched, queue, cron).
import { SchedulerInvalidError } from '../../scheduler/errors.js';

/** A whole number from the command line, or a clear error naming the flag. */
export function intArg(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) {
    throw new SchedulerInvalidError(`${flag} must be an integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function jsonArg(flag: string, value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch (err) {
    throw new SchedulerInvalidError(`${flag} must be JSON: ${(err as Error).message}`);
  }
}
