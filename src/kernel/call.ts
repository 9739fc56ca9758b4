// The OS call layer: one stored procedure call is one prepared statement, one round trip.
import type { Sql } from './database.js';
import { QueryError } from './errors.js';
import { qualifiedName } from './ident.js';

const texts = new Map<string, string>();

function callText(name: string, argc: number): string {
  const key = `${name}/${argc}`;
  let text = texts.get(key);
  if (text === undefined) {
    const params = Array.from({ length: argc }, (_, i) => `$${i + 1}`).join(', ');
    text = `select * from ${qualifiedName(name)}(${params})`;
    texts.set(key, text);
  }
  return text;
}

/** Calls a set- or row-returning procedure and returns its rows. */
export async function callProcedure<Row = Record<string, unknown>>(
  sql: Sql,
  name: string,
  args: readonly unknown[] = [],
): Promise<Row[]> {
  const text = callText(name, args.length);
  try {
    return (await sql.unsafe(text, args as never[], { prepare: true })) as unknown as Row[];
  } catch (err) {
    throw new QueryError(name, args, err);
  }
}
