// `tableos fs query`: the user's SQL over the fs views, in a read-only transaction.
import type { Sql } from '../kernel/database.js';
import { runQuery } from '../kernel/query.js';

export interface QueryResult {
  rows: Record<string, unknown>[];
  columns: string[];
}

/** Runs one read-only statement with the tableos schema on the search path (fs_files, fs_dirs). */
export async function fsQuery(sql: Sql, text: string): Promise<QueryResult> {
  return runQuery(
    'fs query',
    [],
    () =>
      sql.begin('read only', async (tx) => {
        await tx`set local search_path = tableos, public`;
        const res = await tx.unsafe(text);
        const cols = (res as unknown as { columns?: { name: string }[] }).columns ?? [];
        return { rows: [...res] as Record<string, unknown>[], columns: cols.map((c) => c.name) };
      }),
    { text },
  );
}
