// Scheduler statements after a lost connection: each runs again through the kernel's retry,
// and each is safe to run twice. Statements that start tasks on this executor carry a claim
// number, so a retry returns what its first attempt took; enqueues carry idempotency keys.
import crypto from 'node:crypto';
import { DatabaseUnavailableError } from '../kernel/errors.js';
import { faultPoint, type FaultPoint } from '../kernel/fault.js';
import type { Kernel } from '../kernel/kernel.js';
import { isConnectionLoss } from '../kernel/reconnect.js';
import type { Claim } from './procedures.js';

// Claim numbers keep growing across restarts of an executor with a fixed id, so a retry
// never finds the tasks of an earlier process's claim.
let lastClaim = Date.now() * 1000;

/**
 * Runs a statement that starts tasks here under a fresh claim, again with the same claim
 * after each lost connection (asking it then for what the claim took before). `point` is
 * passed once the statement has returned: a `~disconnect` fault there loses its answer.
 * When it fails altogether, `failed` gets the claim, whose tasks may have started anyway.
 */
export async function claiming<T>(
  kernel: Kernel,
  what: string,
  point: FaultPoint,
  run: (claim: Claim) => Promise<T>,
  failed?: (claim: string) => void,
): Promise<T> {
  const claim = String(++lastClaim);
  let retry = false;
  try {
    return await kernel.retrying(what, async () => {
      const c = { claim, retry };
      retry = true;
      const out = await run(c);
      faultPoint(point);
      return out;
    });
  } catch (err) {
    failed?.(claim);
    throw err;
  }
}

/** Runs an idempotent statement, again after each lost connection; `point` as for claiming. */
export function retried<T>(
  kernel: Kernel,
  what: string,
  run: () => Promise<T>,
  point?: FaultPoint,
): Promise<T> {
  return kernel.retrying(what, async () => {
    const out = await run();
    if (point !== undefined) faultPoint(point);
    return out;
  });
}

const KEY_PREFIX = `~${crypto.randomBytes(6).toString('base64url')}.`;
let lastKey = 0;

/** The idempotency key of a task whose caller gave none: unique to this process's enqueue. */
export function newIdempotencyKey(): string {
  return KEY_PREFIX + (++lastKey).toString(36);
}

/** The database stayed away past the reconnect deadline (or the node closed meanwhile). */
export function unavailable(err: unknown): boolean {
  return err instanceof DatabaseUnavailableError || isConnectionLoss(err);
}

/** Pauses of a loop that keeps failing: 0.5 s, doubling, up to maxMs. */
export class Backoff {
  private n = 0;
  constructor(
    private readonly firstMs = 500,
    private readonly maxMs = 10_000,
  ) {}

  next(): number {
    return Math.min(this.firstMs * 2 ** this.n++, this.maxMs);
  }

  reset(): void {
    this.n = 0;
  }
}
