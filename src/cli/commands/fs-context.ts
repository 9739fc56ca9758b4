// What every fs utility shares: the node, the file system as --uid/--gid, and output.
import type { Command } from 'commander';
import { withOS } from '../context.js';
import { InvalidArgumentError } from '../../kernel/errors.js';
import type { TableOS } from '../../tableos.js';
import type { FileSystem } from '../../fs/file-system.js';

export interface FsGlobals {
  uid?: string;
  gid?: string;
}

function intOf(v: string, what: string): number {
  if (!/^\d+$/.test(v))
    throw new InvalidArgumentError(
      `${what} must be a non-negative integer, got ${JSON.stringify(v)}`,
    );
  return Number(v);
}

/** Opens a node for one utility and hands it the file system as --uid/--gid (default root). */
export function withFs<T>(
  cmd: Command,
  fn: (fs: FileSystem, os: TableOS) => Promise<T>,
): Promise<T> {
  const g = cmd.optsWithGlobals<FsGlobals>();
  const uid = g.uid === undefined ? 0 : intOf(g.uid, '--uid');
  const gids =
    g.gid === undefined ? [uid === 0 ? 0 : uid] : g.gid.split(',').map((x) => intOf(x, '--gid'));
  return withOS(cmd, (os) => fn(os.fs.as({ uid, gids }), os));
}

/** Writes lines to stdout in one go (listings can be long). */
export function print(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n');
}
