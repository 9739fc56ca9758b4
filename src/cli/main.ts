#!/usr/bin/env node
// The tableos command: parses arguments, runs one command, maps failures to exit codes
// (2 for usage errors, 1 for everything else).
import { Command, CommanderError } from 'commander';
import { VERSION } from '../kernel/version.js';
import { describeError } from './context.js';
import * as apps from './commands/apps.js';
import * as cron from './commands/cron.js';
import * as dag from './commands/dag.js';
import * as fsCli from './commands/fs.js';
import * as init from './commands/init.js';
import * as migrate from './commands/migrate.js';
import * as msg from './commands/msg.js';
import * as ps from './commands/ps.js';
import * as queue from './commands/queue.js';
import * as sched from './commands/sched.js';
import * as sql from './commands/sql.js';
import * as start from './commands/start.js';
import * as status from './commands/status.js';
import * as top from './commands/top.js';
import * as wf from './commands/wf.js';

export function buildProgram(): Command {
  const program = new Command('tableos')
    .description('TableOS: a database-oriented operating system; all state in PostgreSQL tables')
    // -V, --version is answered by main() only as the first argument, so that a subcommand
    // may have a --version option of its own (wf resume --version, fn ls --version).
    .addHelpText('after', '\n  -V, --version  output the version number')
    .option(
      '-d, --data-dir <dir>',
      'data directory of the embedded PostgreSQL (default .tableos, or TABLEOS_DATA_DIR)',
    )
    .option(
      '--port <port>',
      'port for the embedded PostgreSQL (default: a free one, or TABLEOS_PORT)',
    )
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .showHelpAfterError()
    .exitOverride();
  // One module per top-level command, in the order of the help text.
  for (const c of [
    init,
    start,
    apps,
    sql,
    status,
    ps,
    top,
    migrate,
    wf,
    msg,
    sched,
    queue,
    cron,
    dag,
    fsCli,
  ])
    c.register(program);
  for (const c of program.commands) c.exitOverride().showHelpAfterError();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[2] === '-V' || argv[2] === '--version') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return 0;
      }
      // Commander has printed the message and usage already.
      return 2;
    }
    process.stderr.write(describeError(err) + '\n');
    return 1;
  }
}

process.exitCode = await main(process.argv);
