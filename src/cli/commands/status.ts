// tableos status: this node, its database, schema version and executors.
import os from 'node:os';
import type { Command } from 'commander';
import { VERSION } from '../../kernel/version.js';
import { withOS } from '../context.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('show the node, database, schema version and executors')
    .option('--json', 'print as one JSON object')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (t) => {
        const [ledger] = await t.sql<{ version: string | null; count: number }[]>`
          select max(name) as version, count(*)::int as count from tableos.migration`;
        const execs = await t.sql<{ status: string; n: number }[]>`
          select status, count(*)::int as n from tableos.executor group by status`;
        const count = (s: string) => execs.find((e) => e.status === s)?.n ?? 0;
        const status = {
          node: { host: os.hostname(), tableos: VERSION, node: process.version },
          database: {
            kind: t.db.kind,
            host: t.db.host,
            port: t.db.port,
            database: t.db.database,
            server: t.db.serverVersion,
            ...(t.db.kind === 'embedded' ? { dataDir: t.config.dataDir } : {}),
          },
          schema: { version: ledger?.version ?? null, migrations: ledger?.count ?? 0 },
          executors: { alive: count('alive'), dead: count('dead'), stopped: count('stopped') },
        };
        if (opts.json) {
          console.log(JSON.stringify(status));
          return;
        }
        const d = status.database;
        console.log(`node:      ${status.node.host} (TableOS ${VERSION}, Node ${process.version})`);
        console.log(
          `database:  PostgreSQL ${d.server} at ${d.host}:${d.port}/${d.database} (${d.kind}${d.kind === 'embedded' ? `, data ${t.config.dataDir}` : ''})`,
        );
        console.log(
          `schema:    ${status.schema.version ?? '(none)'} (${status.schema.migrations} migrations)`,
        );
        console.log(
          `executors: ${status.executors.alive} alive, ${status.executors.dead} dead, ${status.executors.stopped} stopped`,
        );
      });
    });
}
