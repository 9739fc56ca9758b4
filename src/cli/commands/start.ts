// tableos start [entry]: boot a node, load and deploy its app (if there is one), serve its
// HTTP routes, and run until Ctrl-C / SIGTERM, then stop everything in order.
import type { Command } from 'commander';
import { resolveEntry } from '../../apps/config.js';
import { deployApp } from '../../apps/deploy.js';
import type { AppFunction } from '../../apps/functions.js';
import { loadApp, type LoadedApp } from '../../apps/loader.js';
import { TableOS, type OpenOptions } from '../../tableos.js';
import { globals } from '../context.js';

function summary(loaded: LoadedApp, functions: AppFunction[]): string {
  const counts = new Map<string, number>();
  for (const f of functions) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  const what = [...counts].map(([k, n]) => `${n} ${k}${n === 1 ? '' : 's'}`).join(', ');
  return `${loaded.app.name} ${loaded.version} (${loaded.entry}; ${what || 'no functions'})`;
}

export function register(program: Command): void {
  program
    .command('start [entry]')
    .description(
      'start a TableOS node (embedded PostgreSQL unless DATABASE_URL is set) with the app in entry (default: the entry in tableos.config.json, else ./tableos.app.ts if present) and run until stopped',
    )
    .option('--executor-id <id>', 'fixed executor id (default: host-pid-random)')
    .option(
      '--http',
      'serve HTTP even with no route declared (port TABLEOS_HTTP_PORT, default 8080; host TABLEOS_HTTP_HOST, default 127.0.0.1)',
    )
    .action(
      async (
        entryArg: string | undefined,
        opts: { executorId?: string; http?: boolean },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        // The app is loaded before the node opens: a missing or broken module starts nothing.
        const entry = await resolveEntry(process.cwd(), entryArg);
        const loaded = entry === undefined ? undefined : await loadApp(entry.file);
        const options: OpenOptions = {
          ...(g.dataDir !== undefined ? { dataDir: g.dataDir } : {}),
          ...(g.port !== undefined ? { port: Number(g.port) } : {}),
          ...(opts.executorId !== undefined ? { executorId: opts.executorId } : {}),
          ...(g.logLevel !== undefined ? { logLevel: g.logLevel as OpenOptions['logLevel'] } : {}),
        };
        const deployed = loaded === undefined ? undefined : await deployApp(loaded, options);
        const os = deployed?.os ?? (await TableOS.open(options));
        // The node runs the message retention sweep.
        void os.messaging;
        const d = os.db;
        console.log(`TableOS node up: executor ${os.executor?.id}`);
        console.log(
          `  database  PostgreSQL ${d.serverVersion} at ${d.hosts.join(',')}/${d.database} (${d.kind}${d.kind === 'embedded' ? `, data ${os.config.dataDir}` : ''})`,
        );
        console.log(`  schema    ${os.schemaVersion ?? '(none)'}`);
        console.log(
          `  app       ${loaded && deployed ? summary(loaded, deployed.functions) : '(none)'}`,
        );
        // HTTP when asked for, or when the app declared a route.
        if (opts.http === true || (os.kernel.has('http') && os.http.routeCount > 0)) {
          try {
            const address = await os.http.listen();
            console.log(`  http      ${address}`);
            if (os.http.config.console) console.log(`  console   ${address}/console`);
          } catch (err) {
            await os.close();
            throw err;
          }
        }
        console.log('  stop with Ctrl-C');
        // The node runs until it is told to stop, also while it holds no connection at all (its
        // server is restarting): nothing else may keep the event loop alive then.
        const keepAlive = setInterval(() => undefined, 3_600_000);
        await new Promise<void>((resolve) => {
          const stop = (signal: NodeJS.Signals) => {
            os.log.info({ signal }, 'stopping');
            resolve();
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        clearInterval(keepAlive);
        // The gateway drains first (new requests 503, in-flight ones finish), then the rest stops.
        await os.close();
        console.log('TableOS node stopped');
      },
    );
}
