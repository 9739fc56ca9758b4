// Surviving the database going away: a statement that failed because its connection was lost
// (the server restarted, a failover, a terminated backend) is run again on a fresh connection
// with backoff until a deadline. Only the connection's failure is retried, never the
// statement's own error; each caller makes its statement safe to run twice (the positions and
// ids it records make a second run find the first one's outcome).
import { DatabaseUnavailableError } from './errors.js';
import type { Logger } from './logger.js';
import { PG, pgCode } from './pg-codes.js';

export interface ReconnectPolicy {
  /** How long to keep retrying one operation before giving up (0: never retry). */
  deadlineMs: number;
  /** The first pause between attempts; each later pause doubles, up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = {
  deadlineMs: 60_000,
  firstDelayMs: 25,
  maxDelayMs: 1_000,
};

/** Driver and socket codes that mean the connection, not the statement, failed. */
const LOST_CONNECTION = new Set([
  'CONNECTION_CLOSED', // the server closed the socket (terminated backend, restart)
  'CONNECT_TIMEOUT',
  'ECONNREFUSED', // the server is not accepting connections yet
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  PG.adminShutdown, // 57P01: pg_terminate_backend, fast shutdown
  PG.crashShutdown, // 57P02: another backend crashed, the server restarts
  PG.cannotConnectNow, // 57P03: starting up, shutting down, in recovery
  PG.tooManyConnections, // 53300: the old backends are not gone yet after a restart
]);

/**
 * True when err, or an error in its cause chain, says the connection was lost. The driver's
 * CONNECTION_ENDED and CONNECTION_DESTROYED are not: they mean this process is closing.
 */
export function isConnectionLoss(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const code = pgCode(e);
    if (code !== undefined && (LOST_CONNECTION.has(code) || code.startsWith('08'))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export interface RetryOptions {
  policy: ReconnectPolicy;
  log?: Logger;
  /** Stops retrying (the caller is closing): the last error is thrown as it is. */
  stopped?: () => boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs op, and again after each connection loss, until it settles otherwise or the deadline
 * passes; then throws DatabaseUnavailableError with the last loss as its cause. `what` names
 * the operation in the log and in that error.
 */
export async function retryOnConnectionLoss<T>(
  what: string,
  op: () => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  const started = Date.now();
  let delay = opts.policy.firstDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await op();
      if (attempt > 1) opts.log?.info({ what, attempts: attempt }, 'database reachable again');
      return value;
    } catch (err) {
      if (!isConnectionLoss(err) || opts.stopped?.() === true) throw err;
      const waited = Date.now() - started;
      if (waited >= opts.policy.deadlineMs) {
        throw new DatabaseUnavailableError(what, waited, { cause: err });
      }
      if (attempt === 1) {
        opts.log?.warn(
          { what, err: pgCode(err) ?? String(err) },
          'lost the database connection; retrying',
        );
      }
      const pause = Math.min(delay, opts.policy.deadlineMs - waited) * (0.5 + Math.random() / 2);
      await sleep(pause);
      delay = Math.min(delay * 2, opts.policy.maxDelayMs);
    }
  }
}
