// Listing utilities: ls, find, tree, stat, du, query. Each is one query on the server.
import type { Command } from 'commander';
import { printRows } from '../format.js';
import { print, withFs } from './fs-context.js';
import { longLines, statLines, treeLines } from './fs-format.js';
import { FsInvalidError } from '../../fs/errors.js';
import { absolute } from '../../fs/path.js';
import type { FindOptions, ListEntry } from '../../fs/types.js';

function hidden(e: { path: string; depth: number }, base: string): boolean {
  const rel = e.path.slice(base === '/' ? 1 : base.length + 1);
  return e.depth > 0 && rel.split('/').some((n) => n.startsWith('.'));
}

export function registerListing(fsCmd: Command): void {
  fsCmd
    .command('ls')
    .description('list a directory (-R or -r: the whole tree, in one query)')
    .argument('[path]', 'directory or file', '/')
    .option('-l', 'long format: mode, links, uid, gid, size, mtime (UTC)')
    .option('-a', 'include entries whose names start with a dot')
    .option('-R, --recursive', 'list subdirectories recursively')
    .option('-r', 'same as -R')
    .action(
      async (
        path: string,
        o: { l?: boolean; a?: boolean; r?: boolean; recursive?: boolean },
        cmd: Command,
      ) => {
        if (o.r) o.recursive = true;
        await withFs(cmd, async (fs) => {
          const rows = await fs.list(absolute(path), o.recursive ? {} : { maxDepth: 1 });
          const top = rows[0];
          if (top === undefined) return;
          const visible = rows.filter((e) => o.a || !hidden(e, top.path));
          const show = (list: ListEntry[]) =>
            o.l ? longLines(list, (e) => e.name) : list.map((e) => e.name);
          if (top.type !== 'directory')
            return print(o.l ? longLines([top], (e) => e.path) : [top.path]);
          if (!o.recursive) return print(show(visible.filter((e) => e.depth === 1)));
          // ls -R: each directory's path, then its entries; the rows are already in pre-order.
          const byDir = new Map<string, ListEntry[]>();
          for (const e of visible) {
            if (e.type === 'directory') byDir.set(e.path, []);
            if (e.depth > 0) byDir.get(e.path.slice(0, e.path.lastIndexOf('/')) || '/')?.push(e);
          }
          const out: string[] = [];
          for (const [dir, list] of byDir) {
            if (out.length > 0) out.push('');
            out.push(`${dir}:`, ...show(list));
          }
          print(out);
        });
      },
    );

  fsCmd
    .command('find')
    .description(
      'find PATH [-name GLOB] [-type f|d|l] [-size [+-]N[ckMG]] [-newer PATH] [-maxdepth N]',
    )
    .argument('[expr...]', 'start path, then tests')
    .allowUnknownOption()
    .helpOption('--help')
    .action(async (expr: string[], _o: unknown, cmd: Command) => {
      const { path, opts } = parseFind(expr);
      await withFs(cmd, async (fs) => print(await fs.find(path, opts)));
    });

  fsCmd
    .command('tree')
    .description('draw the tree under a directory')
    .argument('[path]', 'directory', '/')
    .option('-a', 'include entries whose names start with a dot')
    .action(async (path: string, o: { a?: boolean }, cmd: Command) => {
      await withFs(cmd, async (fs) => {
        const rows = await fs.walk(absolute(path));
        const base = rows[0]?.path ?? '/';
        print(treeLines(rows.filter((e) => o.a || !hidden(e, base))));
      });
    });

  fsCmd
    .command('stat')
    .description("show an entry's inode: size, links, mode, owner, times")
    .argument('<paths...>')
    .option('-L', 'follow a symlink at the end of the path')
    .action(async (paths: string[], o: { L?: boolean }, cmd: Command) => {
      await withFs(cmd, async (fs) => {
        const out: string[] = [];
        for (const p of paths)
          out.push(...statLines(p, await (o.L ? fs.stat(absolute(p)) : fs.lstat(absolute(p)))));
        print(out);
      });
    });

  fsCmd
    .command('du')
    .description('bytes of file data under each directory, in KiB (rounded up)')
    .argument('[path]', 'directory or file', '/')
    .option('-s', 'only the total')
    .option('-b', 'bytes instead of KiB')
    .action(async (path: string, o: { s?: boolean; b?: boolean }, cmd: Command) => {
      await withFs(cmd, async (fs) => {
        const rows = await fs.du(absolute(path), { summary: o.s ?? false });
        // du prints children before their parent.
        rows.sort((x, y) =>
          x.path.startsWith(y.path === '/' ? '/' : y.path + '/')
            ? -1
            : y.path.startsWith(x.path === '/' ? '/' : x.path + '/')
              ? 1
              : 0,
        );
        print(rows.map((r) => `${o.b ? r.bytes : Math.ceil(r.bytes / 1024)}\t${r.path}`));
      });
    });

  fsCmd
    .command('query')
    .description('run read-only SQL over the fs views (fs_files, fs_dirs) and print the rows')
    .argument('<sql>', 'e.g. "select path, size from fs_files order by size desc limit 10"')
    .option('--json', 'print rows as JSON lines')
    .action(async (text: string, o: { json?: boolean }, cmd: Command) => {
      await withFs(cmd, async (_fs, os) => {
        const r = await os.fs.query(text);
        printRows(r.rows, { json: o.json, columns: r.columns });
      });
    });
}

/** POSIX find's argument grammar: paths first, then -tests with values. */
export function parseFind(expr: string[]): { path: string; opts: FindOptions } {
  let i = 0;
  const paths: string[] = [];
  while (i < expr.length && !expr[i]!.startsWith('-')) paths.push(expr[i++]!);
  if (paths.length > 1) throw new FsInvalidError('EINVAL', 'EINVAL: find takes one start path');
  const opts: FindOptions = {};
  while (i < expr.length) {
    const test = expr[i++]!;
    const value = expr[i++];
    if (value === undefined)
      throw new FsInvalidError('EINVAL', `EINVAL: find: missing argument to ${test}`);
    if (test === '-name') opts.name = value;
    else if (test === '-type') {
      if (value !== 'f' && value !== 'd' && value !== 'l') {
        throw new FsInvalidError('EINVAL', `EINVAL: find: -type must be f, d or l, got ${value}`);
      }
      opts.type = value;
    } else if (test === '-size') opts.size = value;
    else if (test === '-newer') opts.newer = absolute(value);
    else if (test === '-maxdepth') {
      if (!/^\d+$/.test(value))
        throw new FsInvalidError('EINVAL', `EINVAL: find: bad -maxdepth ${value}`);
      opts.maxDepth = Number(value);
    } else throw new FsInvalidError('EINVAL', `EINVAL: find: unknown test ${test}`);
  }
  return { path: absolute(paths[0] ?? '/'), opts };
}
