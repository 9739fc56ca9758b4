// `tableos fs ...`: Unix utilities over the file system in tables.
import type { Command } from 'commander';
import { registerFiles } from './fs-files.js';
import { registerListing } from './fs-listing.js';

export function register(program: Command): void {
  const fsCmd = program
    .command('fs')
    .description(
      'the file system in tables: ls, find, cat, put, get, mkdir, rm, mv, cp, stat, du, tree, query',
    )
    .option('--uid <uid>', 'act as this user id (default 0, root)')
    .option('--gid <gids>', 'group ids, comma separated; the first is the primary group');
  registerListing(fsCmd);
  registerFiles(fsCmd);
  for (const c of fsCmd.commands) c.exitOverride().showHelpAfterError();
}
