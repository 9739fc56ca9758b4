// Named fault-injection points for crash tests, one for every service. TABLEOS_FAULT=name[@n]
// (names are `service:point`, e.g. `workflows:step-checkpointed`) kills this process with
// SIGKILL the n-th time (default: the first) it passes that point.

export type FaultPoint =
  | 'workflows:start-committed'
  | 'workflows:procedure-committed'
  | 'workflows:step-effect-done'
  | 'workflows:step-checkpointed'
  | 'workflows:finish-before-commit'
  | 'workflows:finish-committed'
  | 'fs:import-after-batch'
  | 'fs:stream-after-chunk'
  // Points that test fixtures place around public calls.
  | `test:${string}`;

/** The environment variable that arms a fault point. */
export const FAULT_ENV = 'TABLEOS_FAULT';

function parse(spec: string | undefined): { name: string; at: number } | undefined {
  if (spec === undefined || spec === '') return undefined;
  const [name = '', nth] = spec.split('@');
  const at = nth === undefined ? 1 : Number(nth);
  return Number.isInteger(at) && at >= 1 ? { name, at } : undefined;
}

const armed = parse(process.env[FAULT_ENV]);
let hits = 0;

export function faultPoint(point: FaultPoint): void {
  if (armed?.name !== point) return;
  hits++;
  if (hits === armed.at) process.kill(process.pid, 'SIGKILL');
}
