// tableos ps: the executors (node processes) registered in tableos.executor.
import type { Command } from 'commander';
import { listExecutors } from '../../kernel/executor-registry.js';
import { withOS } from '../context.js';
import { formatTime, printRows } from '../format.js';

export function register(program: Command): void {
  program
    .command('ps')
    .description('list executors: live ones, or all with -a')
    .option('-a, --all', 'include stopped and dead executors')
    .option('--json', 'print rows as JSON lines')
    .action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = await listExecutors(os.sql, { all: opts.all === true });
        if (opts.json) return printRows(rows, { json: true });
        const now = Date.now();
        const view = rows.map((r) => ({
          id: r.id,
          host: r.host,
          pid: r.pid,
          version: r.version,
          app: r.app_name === null ? '' : `${r.app_name} ${r.app_version ?? ''}`,
          status: r.status,
          started: formatTime(r.started_at, 's'),
          heartbeat: `${((now - r.heartbeat_at.getTime()) / 1000).toFixed(1)}s ago`,
          lease:
            r.status === 'alive' ? `${((r.lease_until.getTime() - now) / 1000).toFixed(1)}s` : '',
        }));
        printRows(view, {
          columns: [
            'id',
            'host',
            'pid',
            'version',
            'app',
            'status',
            'started',
            'heartbeat',
            'lease',
          ],
        });
      });
    });
}
