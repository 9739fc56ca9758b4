// One fs procedure call: identity first, errors raised as POSIX classes, deadlocks retried,
// and every call run again after a lost connection (until the kernel's reconnect deadline).
// Reads and changes that end the same when made twice simply retry; the others run once by
// token through their `_once` wrapper (sql/0072_fs_reconnect.sql).
import { callProcedure } from '../kernel/call.js';
import { qualifiedName } from '../kernel/ident.js';
import type { Sql } from '../kernel/database.js';
import { InvalidArgumentError, QueryError } from '../kernel/errors.js';
import { faultPoint, type FaultPoint } from '../kernel/fault.js';
import type { Kernel } from '../kernel/kernel.js';
import { PG } from '../kernel/pg-codes.js';
import { queryRows } from '../kernel/query.js';
import './errors.js'; // registers the codes the procedures raise
import type { Identity } from './types.js';

const RETRIES = 5;

export function checkIdentity(id: Partial<Identity> = {}): Identity {
  const uid = id.uid ?? 0;
  const gids = id.gids ?? [uid === 0 ? 0 : uid];
  const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) < 2 ** 31;
  if (!ok(uid))
    throw new InvalidArgumentError(`uid must be an integer 0..2^31-1, got ${String(uid)}`);
  if (!Array.isArray(gids) || !gids.every(ok)) {
    throw new InvalidArgumentError('gids must be an array of integers 0..2^31-1');
  }
  return { uid, gids: [...gids] };
}

/** How one statement is made safe to run again after a lost connection. */
export interface CallOptions {
  /** Run once by token through `tableos.<name>_once`: its second run would fail or do more. */
  once?: boolean;
  /** The fault point passed once the statement returned, inside the retry. */
  after?: FaultPoint;
}

export class Caller {
  readonly sql: Sql;

  constructor(
    private readonly kernel: Kernel,
    readonly id: Identity,
  ) {
    this.sql = kernel.sql;
  }

  /** A read: retried as it is. */
  call<Row>(name: string, ...args: unknown[]): Promise<Row[]> {
    return this.run<Row>(name, args);
  }

  async one<T>(name: string, ...args: unknown[]): Promise<T> {
    return first<T>(await this.call(name, ...args));
  }

  /** A change that ends the same when made twice (a write at a position, chmod to a mode). */
  change<Row>(name: string, ...args: unknown[]): Promise<Row[]> {
    return this.run<Row>(name, args, { after: 'fs:change-committed' });
  }

  async changeOne<T>(name: string, ...args: unknown[]): Promise<T> {
    return first<T>(await this.change(name, ...args));
  }

  /** A change whose second run would fail or do more (mkdir, unlink, append): run once. */
  once<Row>(name: string, ...args: unknown[]): Promise<Row[]> {
    return this.run<Row>(name, args, { once: true, after: 'fs:op-committed' });
  }

  async onceOne<T>(name: string, ...args: unknown[]): Promise<T> {
    return first<T>(await this.once(name, ...args));
  }

  /** Calls tableos.<name>(uid, gids, ...args), made safe to run again as opts say. */
  run<Row>(name: string, args: readonly unknown[], opts: CallOptions = {}): Promise<Row[]> {
    const proc = `tableos.${name}`;
    this.kernel.metrics.fsOperations.inc({ op: name });
    const call = async (tokens: unknown[]) => {
      const rows = await callProcedure<Row>(this.sql, opts.once ? `${proc}_once` : proc, [
        ...tokens,
        this.id.uid,
        this.id.gids,
        ...args,
      ]);
      if (opts.after !== undefined) faultPoint(opts.after);
      return rows;
    };
    if (opts.once) {
      // The same token on every attempt: a retry after a commit whose reply was lost finds
      // the first run's outcome instead of doing the work again.
      return this.kernel.once.run(proc, (t) => deadlockRetried(() => call([t.token, t.forget])));
    }
    return this.retrying(proc, () => call([]));
  }

  /**
   * Calls a set-returning procedure and gets all of its rows as one JSON array: one row on
   * the wire instead of one per entry, which is what makes big listings cheap. A read.
   */
  async json<Row>(name: string, ...args: unknown[]): Promise<Row[]> {
    this.kernel.metrics.fsOperations.inc({ op: name });
    const all = [this.id.uid, this.id.gids, ...args];
    const params = all.map((_, i) => `$${i + 1}`).join(', ');
    const text = `select coalesce(json_agg(x), '[]') as v from ${qualifiedName(`tableos.${name}`)}(${params}) x`;
    const [row] = await this.retrying(`tableos.${name}`, () =>
      queryRows<{ v: Row[] }>(this.sql, `tableos.${name}`, text, all),
    );
    return row!.v;
  }

  /** Runs op again after a deadlock or a lost connection; op must be safe to run twice. */
  retrying<T>(what: string, op: () => Promise<T>): Promise<T> {
    return this.kernel.retrying(what, () => deadlockRetried(op));
  }
}

/** The first column of the first row: a scalar procedure's value. */
function first<T>(rows: readonly unknown[]): T {
  const row = rows[0] as Record<string, unknown> | undefined;
  return (row === undefined ? undefined : Object.values(row)[0]) as T;
}

/**
 * Runs a call again (up to RETRIES times) when it lost to a deadlock or serialization failure:
 * of two transactions locking the same directories in opposite orders one is chosen as the
 * victim and rolled back whole, so running it again is safe.
 */
async function deadlockRetried<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const retry =
        err instanceof QueryError &&
        (err.sqlState === PG.deadlockDetected || err.sqlState === PG.serializationFailure);
      if (!retry || attempt >= RETRIES) throw err;
    }
  }
}
