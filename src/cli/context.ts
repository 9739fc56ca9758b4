// Shared plumbing for commands: global options, opening a node, printing errors.
import type { Command } from 'commander';
import { QueryError, TableOSError, errorMessage } from '../kernel/errors.js';
import { TableOS, type OpenOptions } from '../tableos.js';

export interface GlobalOptions {
  dataDir?: string;
  logLevel?: string;
  port?: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Opens TableOS for one command as a client (no executor row), runs fn, always closes. */
export async function withOS<T>(
  cmd: Command,
  fn: (os: TableOS) => Promise<T>,
  extra: OpenOptions = {},
): Promise<T> {
  const g = globals(cmd);
  const os = await TableOS.open({
    executor: false,
    ...(g.dataDir !== undefined ? { dataDir: g.dataDir } : {}),
    logLevel: (g.logLevel ?? process.env.TABLEOS_LOG_LEVEL ?? 'warn') as OpenOptions['logLevel'],
    ...extra,
  });
  try {
    return await fn(os);
  } finally {
    await os.close();
  }
}

/** Prints an error the way a Unix tool does; bad SQL gets the Postgres message and a caret. */
export function describeError(err: unknown): string {
  const lines: string[] = [];
  if (err instanceof QueryError) {
    const pg = err.cause as { message?: string; detail?: string; hint?: string } | undefined;
    lines.push(
      `tableos: ERROR: ${pg?.message ?? err.message}${err.sqlState ? ` (SQLSTATE ${err.sqlState})` : ''}`,
    );
    if (err.text !== undefined && err.position !== undefined)
      lines.push(...caret(err.text, err.position));
    if (pg?.detail) lines.push(`DETAIL: ${pg.detail}`);
    if (pg?.hint) lines.push(`HINT: ${pg.hint}`);
  } else if (err instanceof TableOSError) {
    lines.push(`tableos: ${err.message} [${err.code}]`);
  } else {
    lines.push(`tableos: ${errorMessage(err)}`);
  }
  return lines.join('\n');
}

/** psql's LINE n: ... / ^ marker under the character Postgres points at (1-based). */
function caret(query: string, position: number): string[] {
  const chars = [...query];
  const before = chars.slice(0, position - 1).join('');
  const lineNo = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineText = query.slice(lineStart).split('\n')[0] ?? '';
  const prefix = `LINE ${lineNo}: `;
  const col = [...before.slice(lineStart)].length;
  return [prefix + lineText, ' '.repeat(prefix.length + col) + '^'];
}
