// One fs procedure call: identity first, errors translated to POSIX classes, deadlocks retried.
import { callProcedure } from '../kernel/call.js';
import { qualifiedName } from '../kernel/ident.js';
import type { Sql } from '../kernel/database.js';
import { InvalidArgumentError, QueryError } from '../kernel/errors.js';
import { PG } from '../kernel/pg-codes.js';
import { translate } from './errors.js';
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

  async call<Row>(name: string, ...args: unknown[]): Promise<Row[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await callProcedure<Row>(this.sql, `tableos.${name}`, [
          this.id.uid,
          this.id.gids,
          ...args,
        ]);
      } catch (err) {
        // Two transactions locking the same directories in opposite orders: one is chosen
        // as the victim and rolled back whole, so running it again is safe.
        if (
          err instanceof QueryError &&
          (err.sqlState === PG.deadlockDetected || err.sqlState === PG.serializationFailure) &&
          attempt < RETRIES
        ) {
          continue;
        }
        throw translate(err);
      }
    }
  }

  /**
   * Calls a set-returning procedure and gets all of its rows as one JSON array: one row on
   * the wire instead of one per entry, which is what makes big listings cheap.
   */
  async json<Row>(name: string, ...args: unknown[]): Promise<Row[]> {
    const all = [this.id.uid, this.id.gids, ...args];
    const params = all.map((_, i) => `$${i + 1}`).join(', ');
    const text = `select coalesce(json_agg(x), '[]') as v from ${qualifiedName(`tableos.${name}`)}(${params}) x`;
    try {
      const [row] = (await this.sql.unsafe(text, all as never[], { prepare: true })) as unknown as {
        v: Row[];
      }[];
      return row!.v;
    } catch (err) {
      throw translate(new QueryError(name, all, err));
    }
  }

  async one<T>(name: string, ...args: unknown[]): Promise<T> {
    const rows = await this.call<Record<string, T>>(name, ...args);
    const row = rows[0];
    return (row === undefined ? undefined : Object.values(row)[0]) as T;
  }
}
