// tableos wf list|get|steps|cancel|resume|fork|gc: workflow management from the shell.
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../kernel/errors.js';
import { withOS } from '../context.js';
import { formatTime, formatValue, printRows } from '../format.js';
import type { CallInfo, WorkflowInfo } from '../../workflows/rows.js';
import type { WorkflowStatus } from '../../workflows/types.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** '90s', '15m', '1h', '7d' -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m)
    throw new InvalidArgumentError(
      `invalid duration ${JSON.stringify(text)}: use a number and a unit (ms, s, m, h, d, w), e.g. 1h or 7d`,
    );
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

/** A duration ago ('1h') or an ISO time. */
function parseTime(text: string): Date {
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d|w)$/.test(text)) return new Date(Date.now() - parseDuration(text));
  const d = new Date(text);
  if (Number.isNaN(d.getTime()))
    throw new InvalidArgumentError(
      `invalid time ${JSON.stringify(text)}: use an ISO time or a duration like 1h`,
    );
  return d;
}

function int(text: string, what: string): number {
  if (!/^\d+$/.test(text))
    throw new InvalidArgumentError(`${what} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Command output goes to stdout, like any Unix tool's. */
function print(text: string): void {
  process.stdout.write(text + '\n');
}

const STRANDED_COLUMNS = ['id', 'name', 'app', 'version', 'executor', 'created'];

function wfView(w: WorkflowInfo) {
  return {
    id: w.id,
    name: w.name,
    status: w.status,
    created: formatTime(w.createdAt),
    updated: formatTime(w.updatedAt),
    executor: w.executorId ?? '',
    version: w.appVersion ?? '',
    attempts: w.recoveryAttempts,
    error: w.error?.message ?? '',
  };
}

function callView(c: CallInfo) {
  return {
    seq: c.seq,
    kind: c.kind,
    name: c.name,
    status: c.status,
    ms: c.durationMs,
    output: c.status === 'error' ? (c.error?.message ?? '') : formatValue(c.output),
  };
}

function jsonOf(v: unknown): unknown {
  if (v instanceof Error)
    return { name: v.name, message: v.message, code: (v as { code?: unknown }).code };
  if (v instanceof Map) return Object.fromEntries(v);
  if (v instanceof Set) return [...v];
  return v;
}

function toJson<T extends object>(rows: T[]): object[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonOf(v)])));
}

export function register(program: Command): void {
  const wf = program
    .command('wf')
    .description('durable workflows: list, inspect, cancel, resume, fork, gc');

  wf.command('list')
    .description('list workflow runs, newest first')
    .option('--status <status>', 'enqueued|pending|success|error|cancelled|max_recovery_exceeded')
    .option('--name <name>', 'only runs of this workflow')
    .option('--since <time>', 'created at or after: a duration ago (1h, 7d) or an ISO time')
    .option('--until <time>', 'created before: a duration ago or an ISO time')
    .option('--limit <n>', 'rows per page', '100')
    .option('--offset <n>', 'rows to skip', '0')
    .option(
      '--stranded',
      'only pending runs whose app version runs on no live executor (resume them with wf resume <id> --version V)',
    )
    .option('--json', 'print rows as JSON lines')
    .action(
      async (
        o: {
          stranded?: boolean;
          status?: string;
          name?: string;
          since?: string;
          until?: string;
          limit: string;
          offset: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const filter = {
          ...(o.status !== undefined ? { status: o.status as WorkflowStatus } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.since !== undefined ? { since: parseTime(o.since) } : {}),
          ...(o.until !== undefined ? { until: parseTime(o.until) } : {}),
          limit: int(o.limit, '--limit'),
          offset: int(o.offset, '--offset'),
        };
        if (o.stranded === true) {
          await withOS(cmd, async (os) => {
            const rows = await os.workflows.stranded({ limit: filter.limit });
            printRows(
              o.json
                ? toJson(rows)
                : rows.map((r) => ({
                    id: r.id,
                    name: r.name,
                    app: r.appName,
                    version: r.appVersion,
                    executor: r.executorId ?? '',
                    created: formatTime(r.createdAt),
                  })),
              { json: o.json, columns: o.json ? undefined : STRANDED_COLUMNS },
            );
          });
          return;
        }
        await withOS(cmd, async (os) => {
          const rows = await os.workflows.list(filter);
          printRows(o.json ? toJson(rows) : rows.map(wfView), { json: o.json });
        });
      },
    );

  wf.command('get <id>')
    .description('show one run: status, input, output or error')
    .option('--json', 'print as JSON')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const w = await os.workflows.get(id);
        if (o.json) return printRows(toJson([w]), { json: true });
        const lines: [string, unknown][] = [
          ['id', w.id],
          ['name', w.name],
          ['status', w.status],
          ['input', w.input],
          ['output', w.output],
          ['error', w.error?.message],
          ['executor', w.executorId],
          ['app', w.appName === null ? null : `${w.appName} ${w.appVersion}`],
          ['moved from', w.versionMovedFrom],
          ['moved at', w.versionMovedAt],
          ['parent', w.parentId],
          ['forked from', w.forkedFrom],
          ['recovery attempts', w.recoveryAttempts],
          ['deadline', w.deadline],
          ['created', w.createdAt],
          ['updated', w.updatedAt],
        ];
        for (const [k, v] of lines)
          if (v !== undefined && v !== null) print(`${k.padEnd(18)}${formatValue(v)}`);
      });
    });

  wf.command('steps <id>')
    .description('the calls a run made, in order, with timing and output or error')
    .option('--json', 'print rows as JSON lines')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = await os.workflows.steps(id);
        printRows(o.json ? toJson(rows) : rows.map(callView), {
          json: o.json,
          columns: ['seq', 'kind', 'name', 'status', 'ms', 'output'],
        });
      });
    });

  wf.command('cancel <id>')
    .description('cancel a run and its unfinished children')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await withOS(cmd, async (os) => {
        for (const c of await os.workflows.cancel(id)) print(`cancelled ${c}`);
      });
    });

  wf.command('resume <id>')
    .description(
      'make a cancelled or failed run pending again; a live executor with its code resumes it',
    )
    .option(
      '--version <version>',
      'move the run to this deployed version of its app (recorded in its row); an executor of that version resumes it',
    )
    .action(async (id: string, o: { version?: string }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        if (o.version !== undefined) {
          const old = await os.workflows.moveVersion(id, o.version);
          print(`moved ${id} from version ${old} to ${o.version}`);
          return;
        }
        for (const r of await os.workflows.resume(id)) print(`resumed ${r}`);
      });
    });

  wf.command('fork <id>')
    .description('start a copy of a run under a new id, replaying its calls before position --from')
    .option('--from <n>', 'first position to run again (default: replay all recorded calls)')
    .option('--id <new-id>', 'id of the new run (default: a random UUID)')
    .action(async (id: string, o: { from?: string; id?: string }, cmd: Command) => {
      const opts = {
        ...(o.from !== undefined ? { fromStep: int(o.from, '--from') } : {}),
        ...(o.id !== undefined ? { newId: o.id } : {}),
      };
      await withOS(cmd, async (os) => print(await os.workflows.fork(id, opts)));
    });

  wf.command('gc')
    .description('delete finished runs older than a given age, in batches')
    .requiredOption('--older-than <duration>', 'e.g. 7d, 12h')
    .option('--batch <n>', 'rows deleted per transaction', '1000')
    .action(async (o: { olderThan: string; batch: string }, cmd: Command) => {
      const olderThanMs = parseDuration(o.olderThan);
      const batchSize = int(o.batch, '--batch');
      await withOS(cmd, async (os) => {
        print(`deleted ${await os.workflows.gc({ olderThanMs, batchSize })}`);
      });
    });
}
