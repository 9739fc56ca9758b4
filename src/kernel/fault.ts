// Named fault-injection points for crash tests, one for every service. TABLEOS_FAULT=name[@n]
// (names are `service:point`, e.g. `workflows:step-checkpointed`) kills this process with
// SIGKILL the n-th time (default: the first) it passes that point. With `~disconnect` after
// it (`workflows:procedure-committed@2~disconnect`) the point throws a lost-connection error
// instead, as if the reply to a committed statement never arrived: the outcome the caller's
// retry must find again without doing the work twice.

export type FaultPoint =
  | 'kernel:register-committed'
  | 'workflows:start-committed'
  | 'workflows:start-batch-committed'
  | 'workflows:commit-batch-committed'
  | 'workflows:procedure-committed'
  | 'workflows:step-effect-done'
  | 'workflows:step-checkpointed'
  | 'workflows:finish-before-commit'
  | 'workflows:finish-committed'
  | 'scheduler:enqueue-committed'
  | 'scheduler:claim-committed'
  | 'scheduler:complete-committed'
  | 'scheduler:cron-fire-committed'
  | 'scheduler:workflow-enqueue-committed'
  | 'messaging:send-committed'
  | 'messaging:take-committed'
  | 'fs:op-committed'
  | 'fs:change-committed'
  | 'fs:import-after-batch'
  | 'fs:stream-after-chunk'
  | 'http:key-claimed'
  | 'http:run-started'
  | 'serverless:node-begun'
  | 'serverless:before-finish'
  | 'serverless:node-committed'
  | 'serverless:step-effect-done'
  // Points that test fixtures place around public calls.
  | `test:${string}`;

/** The environment variable that arms a fault point. */
export const FAULT_ENV = 'TABLEOS_FAULT';

type FaultAction = 'kill' | 'disconnect';

function parse(
  spec: string | undefined,
): { name: string; at: number; action: FaultAction } | undefined {
  if (spec === undefined || spec === '') return undefined;
  const [point = '', action = 'kill'] = spec.split('~');
  const [name = '', nth] = point.split('@');
  const at = nth === undefined ? 1 : Number(nth);
  if (!(Number.isInteger(at) && at >= 1) || (action !== 'kill' && action !== 'disconnect'))
    return undefined;
  return { name, at, action };
}

const armed = parse(process.env[FAULT_ENV]);
let hits = 0;

/** The error a `~disconnect` fault point throws: the driver's code for a closed connection. */
export class InjectedDisconnect extends Error {
  readonly code = 'CONNECTION_CLOSED';
  constructor(point: string) {
    super(`fault point ${point}: connection lost before the reply arrived`);
    this.name = 'InjectedDisconnect';
  }
}

export function faultPoint(point: FaultPoint): void {
  if (armed?.name !== point) return;
  hits++;
  if (hits !== armed.at) return;
  if (armed.action === 'disconnect') throw new InjectedDisconnect(point);
  process.kill(process.pid, 'SIGKILL');
}
