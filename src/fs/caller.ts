// One fs procedure call: identity first, errors raised as POSIX classes, deadlocks retried.
import { callProcedure } from '../kernel/call.js';
import { qualifiedName } from '../kernel/ident.js';
import type { Sql } from '../kernel/database.js';
import { InvalidArgumentError, QueryError } from '../kernel/errors.js';
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

export class Caller {
  constructor(
    readonly sql: Sql,
    readonly id: Identity,
  ) {}

  call<Row>(name: string, ...args: unknown[]): Promise<Row[]> {
    return retried(() =>
      callProcedure<Row>(this.sql, `tableos.${name}`, [this.id.uid, this.id.gids, ...args]),
    );
  }

  /**
   * Calls a set-returning procedure and gets all of its rows as one JSON array: one row on
   * the wire instead of one per entry, which is what makes big listings cheap.
   */
  async json<Row>(name: string, ...args: unknown[]): Promise<Row[]> {
    const all = [this.id.uid, this.id.gids, ...args];
    const params = all.map((_, i) => `$${i + 1}`).join(', ');
    const text = `select coalesce(json_agg(x), '[]') as v from ${qualifiedName(`tableos.${name}`)}(${params}) x`;
    const [row] = await retried(() =>
      queryRows<{ v: Row[] }>(this.sql, `tableos.${name}`, text, all),
    );
    return row!.v;
  }

  async one<T>(name: string, ...args: unknown[]): Promise<T> {
    const rows = await this.call<Record<string, T>>(name, ...args);
    const row = rows[0];
    return (row === undefined ? undefined : Object.values(row)[0]) as T;
  }
}

/**
 * Runs a call again (up to RETRIES times) when it lost to a deadlock or serialization failure:
 * of two transactions locking the same directories in opposite orders one is chosen as the
 * victim and rolled back whole, so running it again is safe.
 */
async function retried<T>(run: () => Promise<T>): Promise<T> {
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
