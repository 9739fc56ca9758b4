// Output and argument helpers shared by the scheduler's commands.
import { formatJsonLines, formatTable, type Row } from '../cli/format.js';
import { SchedulerInvalidError } from './errors.js';

export function print(
  rows: readonly object[],
  json: boolean | undefined,
  columns?: string[],
): void {
  if (json) {
    if (rows.length > 0) process.stdout.write(formatJsonLines(rows) + '\n');
    return;
  }
  process.stdout.write(formatTable(rows as readonly Row[], columns) + '\n');
}

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

export const when = (d: Date | null | undefined): string =>
  d ? d.toISOString().replace('T', ' ').slice(0, 23) : '';
