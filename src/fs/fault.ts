// Named fault points for crash tests: TABLEOS_FS_FAULT=<name> kills the process right there.

export type FaultPoint = 'import-after-batch' | 'stream-after-chunk';

export function faultPoint(name: FaultPoint): void {
  if (process.env.TABLEOS_FS_FAULT === name) process.kill(process.pid, 'SIGKILL');
}
