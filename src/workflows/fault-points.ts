// Named fault-injection points on the execution path. TABLEOS_FAULT=point[@n] kills this
// process with SIGKILL the n-th time (default first) it passes that point; used by crash tests.

export type FaultPoint =
  | 'start-committed'
  | 'procedure-committed'
  | 'step-effect-done'
  | 'step-checkpointed'
  | 'finish-before-commit'
  | 'finish-committed';

const spec = process.env.TABLEOS_FAULT;
const [target, nth] = spec === undefined || spec === '' ? [] : spec.split('@');
const at = nth === undefined ? 1 : Number(nth);
let hits = 0;

export function faultPoint(point: FaultPoint): void {
  if (target !== point) return;
  hits++;
  if (hits === at) process.kill(process.pid, 'SIGKILL');
}
