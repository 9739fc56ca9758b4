// tableos apps, tableos fn ls: the deployed apps and their functions, from their rows.
import type { Command } from 'commander';
import { listApps, listFunctions } from '../../apps/catalog.js';
import { withOS } from '../context.js';
import { formatTime, printRows } from '../format.js';

function schemaCell(s: unknown): string {
  if (s === null || s === undefined) return '';
  const t = (s as { type?: unknown }).type;
  return typeof t === 'string' ? t : 'schema';
}

export function register(program: Command): void {
  program
    .command('apps')
    .description('deployed apps: each version, its code hash, when seen, live executors, functions')
    .option('--json', 'print rows as JSON lines')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = await listApps(os.sql);
        printRows(
          o.json
            ? rows
            : rows.map((a) => ({
                app: a.name,
                version: a.version,
                code_hash: a.code_hash.slice(0, 12),
                first_seen: formatTime(a.first_seen_at, 's'),
                last_seen: formatTime(a.last_seen_at, 's'),
                executors: a.executors,
                functions: a.functions,
              })),
          { json: o.json, columns: o.json ? undefined : APP_COLUMNS },
        );
      });
    });

  const fn = program.command('fn').description('functions of deployed apps');
  fn.command('ls')
    .description('list the functions of deployed apps: workflows, procedures, steps, routes, cron')
    .option('--app <name>', 'only this app')
    .option('--version <version>', 'only this version of the app')
    .option('--json', 'print rows as JSON lines (with the full JSON Schemas)')
    .action(async (o: { app?: string; version?: string; json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = await listFunctions(os.sql, { app: o.app, version: o.version });
        printRows(
          o.json
            ? rows
            : rows.map((f) => ({
                app: f.app,
                version: f.version,
                kind: f.kind,
                name: f.name,
                input: schemaCell(f.input_schema),
                output: schemaCell(f.output_schema),
              })),
          { json: o.json, columns: o.json ? undefined : FN_COLUMNS },
        );
      });
    });
}

const APP_COLUMNS = [
  'app',
  'version',
  'code_hash',
  'first_seen',
  'last_seen',
  'executors',
  'functions',
];
const FN_COLUMNS = ['app', 'version', 'kind', 'name', 'input', 'output'];
