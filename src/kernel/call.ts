// The OS call layer: one stored procedure call is one prepared statement, one round trip.
import type { Sql } from './database.js';
import { qualifiedName } from './ident.js';
import { runQuery } from './query.js';

type Strings = TemplateStringsArray;
const texts = new Map<string, Strings>();

/**
 * The call as template strings, made once per procedure and argument count: the driver then
 * takes the same path as for a literal tagged template (its prepared statement is reused).
 */
function callStrings(name: string, argc: number): Strings {
  const key = `${name}/${argc}`;
  let strings = texts.get(key);
  if (strings === undefined) {
    const head = `select * from ${qualifiedName(name)}(`;
    const parts = argc === 0 ? [`${head})`] : [head, ...Array<string>(argc - 1).fill(', '), ')'];
    strings = Object.assign(parts, { raw: [...parts] });
    texts.set(key, strings);
  }
  return strings;
}

/** Calls a set- or row-returning procedure and returns its rows. */
export async function callProcedure<Row = Record<string, unknown>>(
  sql: Sql,
  name: string,
  args: readonly unknown[] = [],
): Promise<Row[]> {
  const strings = callStrings(name, args.length);
  return runQuery(
    name,
    args,
    async () => (await sql(strings, ...(args as never[]))) as unknown as Row[],
  );
}
