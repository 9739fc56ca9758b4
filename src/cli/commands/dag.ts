// tableos dag ls|show|cancel: graphs of serverless functions, their nodes and their states.
import type { Command } from 'commander';
import { withOS } from '../context.js';
import { formatTime, printRows } from '../format.js';
import type { DagStatus } from '../../serverless/types.js';
import { drawDag } from './dag-draw.js';

const ms = (a: Date | null, b: Date | null) =>
  a === null || b === null ? null : b.getTime() - a.getTime();

export function register(program: Command): void {
  const dag = program.command('dag').description('serverless graphs (DAGs): list, show, cancel');

  dag
    .command('ls')
    .description('list graphs, newest first')
    .option('-s, --status <status>', 'only this status (running|done|failed|cancelled|timed_out)')
    .option('-n, --limit <n>', 'most rows', '50')
    .option('--json', 'print rows as JSON lines')
    .action(async (opts: { status?: string; limit: string; json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = await os.serverless.list({
          ...(opts.status !== undefined ? { status: opts.status as DagStatus } : {}),
          limit: Number(opts.limit),
        });
        if (opts.json) return printRows(rows, { json: true });
        printRows(
          rows.map((d) => ({
            id: d.id,
            status: d.status,
            nodes: d.nodeCount,
            remaining: d.remaining,
            created: formatTime(d.createdAt),
            ended: formatTime(d.finishedAt),
            error: d.error,
          })),
          { columns: ['id', 'status', 'nodes', 'remaining', 'created', 'ended', 'error'] },
        );
      });
    });

  dag
    .command('show')
    .description('draw a graph with the state of each node, then its nodes')
    .argument('<id>', 'dag id')
    .option('--json', 'print the dag and its nodes as one JSON line')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const d = await os.serverless.get(id);
        if (opts.json) return printRows([d], { json: true });
        process.stdout.write(drawDag(d) + '\n\n');
        printRows(
          d.nodes.map((n) => ({
            node: n.id,
            fn: n.fn,
            kind: n.kind,
            status: n.status,
            attempts: n.attempts,
            worker: n.workerId,
            memory_mb: n.memoryMb,
            locality: n.localityKey,
            wait_ms: ms(n.readyAt, n.startedAt),
            run_ms: ms(n.startedAt, n.finishedAt),
            error: n.error,
          })),
          {
            columns: [
              'node',
              'fn',
              'kind',
              'status',
              'attempts',
              'worker',
              'memory_mb',
              'locality',
              'wait_ms',
              'run_ms',
              'error',
            ],
          },
        );
      });
    });

  dag
    .command('cancel')
    .description('cancel a running graph: nodes not started are cancelled, running ones finish')
    .argument('<id>', 'dag id')
    .option('--json', 'print the row as a JSON line')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const d = await os.serverless.cancel(id);
        printRows([{ id: d.id, status: d.status, remaining: d.remaining }], { json: opts.json });
      });
    });
}
