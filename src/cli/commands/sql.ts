// tableos sql "<query>": run SQL against the OS state; aligned table or JSON lines.
import type { Command } from 'commander';
import { runQuery } from '../../kernel/query.js';
import { withOS } from '../context.js';
import { printRows, type Row } from '../format.js';

interface ResultLike extends Array<Row> {
  command?: string;
  count?: number;
  columns?: { name: string }[] | null;
}

export function register(program: Command): void {
  program
    .command('sql')
    .description('run SQL against the OS state and print the result')
    .argument('<query>', 'SQL text; several statements separated by ; run in order')
    .option('--json', 'print rows as JSON lines')
    .action(async (query: string, opts: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const result: unknown = await runQuery('sql', [], () => os.sql.unsafe(query).simple(), {
          text: query,
        });
        // Several statements give one result each.
        const results = (isMulti(result) ? result : [result]) as ResultLike[];
        for (const r of results) printResult(r, opts.json === true);
      });
    });
}

function isMulti(r: unknown): boolean {
  return Array.isArray(r) && r.length > 0 && r.every((x) => Array.isArray(x) && 'command' in x);
}

function printResult(r: ResultLike, json: boolean): void {
  const columns = r.columns?.map((c) => c.name) ?? [];
  if (json || columns.length > 0) {
    printRows(r, { json, columns });
  } else if (r.command) {
    console.log(
      r.command === 'INSERT'
        ? `INSERT 0 ${r.count ?? 0}`
        : `${r.command}${r.count ? ` ${r.count}` : ''}`,
    );
  }
}
