// tableos msg send|recv|ls|stats: mailboxes from the shell.
import fs from 'node:fs';
import type { Command } from 'commander';
import { withOS } from '../context.js';
import { formatJsonLines, formatTime, printRows } from '../format.js';
import { NoMessageError } from '../../messaging/errors.js';
import type { Message } from '../../messaging/queries.js';

export function register(program: Command): void {
  const msg = program.command('msg').description('durable mailboxes: send, receive, list');

  msg
    .command('send')
    .description(
      'send a message (JSON, or else taken as a string; read from stdin if absent) to one or more comma-separated mailboxes',
    )
    .argument('<to>', 'mailbox, or a,b,c for a multicast in one transaction')
    .argument('[message]', 'the message')
    .option('-t, --topic <topic>', 'topic of the message')
    .option('--id <id>', 'idempotency key: a second send with the same id is a no-op')
    .option('--from <mailbox>', 'sender mailbox (default cli)')
    .action(
      async (
        to: string,
        text: string | undefined,
        opts: { topic?: string; id?: string; from?: string },
        cmd: Command,
      ) => {
        const body = parseBody(text ?? fs.readFileSync(0, 'utf8').replace(/\n$/, ''));
        await withOS(cmd, async (os) => {
          const r = await os.messaging.multicast(to.split(','), body, {
            topic: opts.topic,
            id: opts.id,
            from: opts.from ?? 'cli',
          });
          print(r.duplicate ? 'duplicate (already sent)' : r.seqs.join('\n'));
        });
      },
    );

  msg
    .command('recv')
    .description('receive (consume) messages, waiting for the first; prints one JSON body per line')
    .argument('<mailbox>')
    .option('-t, --topic <topic>', 'only messages of this topic')
    .option('-n, --count <n>', 'receive up to n messages', '1')
    .option('--timeout <ms>', 'give up after ms milliseconds (default: wait)')
    .option('--peek', 'show messages without consuming them')
    .option('--json', 'print whole messages as JSON lines')
    .action(
      async (
        mailbox: string,
        opts: { topic?: string; count: string; timeout?: string; peek?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const n = Number(opts.count);
        const timeout = opts.timeout === undefined ? undefined : Number(opts.timeout);
        await withOS(cmd, async (os) => {
          const got = opts.peek
            ? await os.messaging.peek(mailbox, { topic: opts.topic, limit: n })
            : await os.messaging.recvBatch(mailbox, n, { topic: opts.topic, timeoutMs: timeout });
          if (got.length === 0 && !opts.peek) {
            throw new NoMessageError(mailbox, timeout);
          }
          if (got.length > 0) print(opts.json ? formatJsonLines(got) : bodies(got));
        });
      },
    );

  msg
    .command('ls')
    .description('list mailboxes with their waiting messages')
    .option('--json', 'print rows as JSON lines')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = (await os.messaging.stats()).map((s) => ({
          mailbox: s.mailbox,
          pending: s.pending,
          leased: s.leased,
          oldest: formatTime(s.oldestAt, 's'),
        }));
        printRows(rows, { json: opts.json, columns: ['mailbox', 'pending', 'leased', 'oldest'] });
      });
    });

  msg
    .command('stats')
    .description('counters of all mailboxes, or of one: waiting, leased, expired, retention')
    .argument('[mailbox]')
    .option('--json', 'print rows as JSON lines')
    .action(async (mailbox: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      await withOS(cmd, async (os) => {
        const rows = (await os.messaging.stats(mailbox)).map((s) => ({
          mailbox: s.mailbox,
          pending: s.pending,
          leased: s.leased,
          expired: s.expired,
          oldest_age_s: s.oldestAt
            ? Math.round((Date.now() - s.oldestAt.getTime()) / 100) / 10
            : null,
          retention_s: s.retentionS,
        }));
        printRows(rows, { json: opts.json });
        if (opts.json) return;
        const total = (k: 'pending' | 'leased' | 'expired') => rows.reduce((a, r) => a + r[k], 0);
        if (mailbox === undefined) {
          print(
            `total: ${rows.length} mailboxes, ${total('pending')} pending, ${total('leased')} leased, ${total('expired')} expired`,
          );
        }
      });
    });
}

/** Prints one block of output; commands print like Unix tools, to stdout. */
function print(text: string): void {
  process.stdout.write(text + '\n');
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function bodies(ms: Message[]): string {
  return ms.map((m) => JSON.stringify(m.body)).join('\n');
}
