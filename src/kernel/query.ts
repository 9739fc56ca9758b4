// Running one statement: every service's queries go through runQuery, so a failure is either
// the TableOS error a procedure raised or a QueryError naming the statement.
import type { Sql, TransactionSql } from './database.js';
import { InternalError, InvalidArgumentError, QueryError, TableOSError } from './errors.js';
import { PG } from './pg-codes.js';

/** A TableOS error raised in SQL by tableos.raise_error (SQLSTATE TF001, the code as DETAIL). */
export interface RaisedError {
  /** The stable code, e.g. TABLEOS_FS_ENOENT. */
  readonly code: string;
  readonly message: string;
  /** The failed statement with its name and parameters: the translated error's cause. */
  readonly query: QueryError;
}

/** Builds the error class of one code from what the procedure raised. */
export type RaisedErrorFactory = (raised: RaisedError) => TableOSError;

const factories = new Map<string, RaisedErrorFactory>([
  ['TABLEOS_INVALID_ARGUMENT', (r) => new InvalidArgumentError(r.message, { cause: r.query })],
]);

/** Each service registers the codes its procedures raise, from its errors module. */
export function registerRaisedErrors(entries: Record<string, RaisedErrorFactory>): void {
  for (const [code, factory] of Object.entries(entries)) {
    if (factories.has(code)) throw new InternalError(`error code ${code} is registered twice`);
    factories.set(code, factory);
  }
}

/**
 * The error for a failed statement: a TableOS error passes through as it is (a nested helper
 * or the caller's own code threw it), a raised TableOS error becomes its registered class, and
 * anything else a QueryError. A code nobody registered also stays a QueryError (its DETAIL
 * still names the code).
 */
function queryFailure(
  name: string,
  params: readonly unknown[],
  err: unknown,
  text?: string,
): TableOSError {
  if (err instanceof TableOSError) return err;
  const query = new QueryError(name, params, err, text);
  if (query.sqlState !== PG.tableosError) return query;
  const pg = err as { detail?: unknown; message?: unknown };
  const code = typeof pg.detail === 'string' ? pg.detail : '';
  const factory = factories.get(code);
  if (factory === undefined) return query;
  return factory({ code, message: typeof pg.message === 'string' ? pg.message : code, query });
}

/** Runs one statement (or transaction) and throws what queryFailure makes of a failure. */
export async function runQuery<T>(
  name: string,
  params: readonly unknown[],
  run: () => Promise<T>,
  opts: { text?: string } = {},
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw queryFailure(name, params, err, opts.text);
  }
}

/** Runs a parameterised statement as a prepared statement and returns its rows. */
export function queryRows<Row>(
  sql: Sql | TransactionSql,
  name: string,
  text: string,
  params: readonly unknown[],
): Promise<Row[]> {
  return runQuery(
    name,
    params,
    async () => (await sql.unsafe(text, params as never[], { prepare: true })) as unknown as Row[],
  );
}

/**
 * The name a raised message is about (a workflow id, a mailbox), which raise sites write as
 * the message's first JSON string (`format('... %s ...', to_json(name))`).
 */
export function quotedName(message: string): string | undefined {
  const m = /"(?:[^"\\]|\\.)*"/.exec(message);
  if (m === null) return undefined;
  try {
    return JSON.parse(m[0]) as string;
  } catch {
    return undefined;
  }
}
