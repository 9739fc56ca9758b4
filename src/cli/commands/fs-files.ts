// File utilities: cat, put, get, mkdir, rm, mv, cp.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createReadStream as localRead } from 'node:fs';
import type { Command } from 'commander';
import { withFs } from './fs-context.js';
import { progressBar } from './fs-format.js';
import { FsIsDirectoryError } from '../../fs/errors.js';
import type { FileSystem } from '../../fs/file-system.js';
import { absolute, baseName, joinPath } from '../../fs/path.js';
import { createReadStream, createWriteStream } from '../../fs/streams.js';
import { exportTree, importTree } from '../../fs/transfer.js';

/** cp/mv semantics: a destination that is a directory receives the source under its name. */
async function intoDir(fs: FileSystem, src: string, dst: string): Promise<string> {
  try {
    if ((await fs.stat(dst)).type === 'directory') return joinPath(dst, baseName(src));
  } catch (err) {
    if ((err as { errno?: string }).errno !== 'ENOENT') throw err;
  }
  return dst;
}

export function registerFiles(fsCmd: Command): void {
  fsCmd
    .command('cat')
    .description('print files to stdout (streamed)')
    .argument('<paths...>')
    .action(async (paths: string[], _o: unknown, cmd: Command) => {
      await withFs(cmd, async (fs) => {
        for (const p of paths) {
          for await (const chunk of createReadStream(fs, absolute(p))) {
            if (!process.stdout.write(chunk as Buffer)) {
              await new Promise((r) => process.stdout.once('drain', r));
            }
          }
        }
      });
    });

  fsCmd
    .command('put')
    .description('copy a local file (or with -r a tree) into TableOS')
    .argument('<local>')
    .argument('<remote>')
    .option('-r, --recursive', 'copy a directory tree')
    .option('--progress', 'show a progress bar even when stderr is not a terminal')
    .action(
      async (
        local: string,
        remote: string,
        o: { recursive?: boolean; progress?: boolean },
        cmd: Command,
      ) => {
        await withFs(cmd, async (fs) => {
          const st = await fsp.lstat(local);
          const dst = await intoDir(fs, path.basename(path.resolve(local)), absolute(remote));
          if (st.isDirectory()) {
            if (!o.recursive)
              throw new FsIsDirectoryError('EISDIR', `EISDIR: ${local} is a directory (use -r)`);
            const bar = progressBar(o.progress ?? false);
            try {
              await importTree(fs, local, dst, { onProgress: bar.update });
            } finally {
              bar.stop();
            }
          } else {
            await pipeline(
              localRead(local),
              createWriteStream(fs, dst, { mode: st.mode & 0o7777 }),
            );
          }
        });
      },
    );

  fsCmd
    .command('get')
    .description('copy a file (or with -r a tree) from TableOS to the local disk')
    .argument('<remote>')
    .argument('<local>')
    .option('-r, --recursive', 'copy a directory tree')
    .option('--progress', 'show a progress bar even when stderr is not a terminal')
    .action(
      async (
        remote: string,
        local: string,
        o: { recursive?: boolean; progress?: boolean },
        cmd: Command,
      ) => {
        await withFs(cmd, async (fs) => {
          const src = absolute(remote);
          const st = await fs.stat(src);
          let dst = local;
          const localSt = await fsp.stat(local).catch(() => undefined);
          if (localSt?.isDirectory()) dst = path.join(local, baseName(src));
          if (st.type === 'directory') {
            if (!o.recursive)
              throw new FsIsDirectoryError('EISDIR', `EISDIR: ${src} is a directory (use -r)`);
            const bar = progressBar(o.progress ?? false);
            try {
              await exportTree(fs, src, dst, { onProgress: bar.update });
            } finally {
              bar.stop();
            }
          } else {
            const { createWriteStream: localWrite } = await import('node:fs');
            await pipeline(createReadStream(fs, src), localWrite(dst, { mode: st.mode & 0o7777 }));
          }
        });
      },
    );

  fsCmd
    .command('mkdir')
    .description('make directories')
    .argument('<paths...>')
    .option('-p, --parents', 'make parents as needed; no error if existing')
    .option('-m, --mode <octal>', 'permission bits', '755')
    .action(async (paths: string[], o: { parents?: boolean; mode: string }, cmd: Command) => {
      await withFs(cmd, async (fs) => {
        for (const p of paths)
          await fs.mkdir(absolute(p), { parents: o.parents ?? false, mode: parseInt(o.mode, 8) });
      });
    });

  fsCmd
    .command('rm')
    .description('remove files (-r: directories and their contents, in one transaction)')
    .argument('<paths...>')
    .option('-r, --recursive', 'remove directories and their contents')
    .option('-f, --force', 'ignore missing paths')
    .action(async (paths: string[], o: { recursive?: boolean; force?: boolean }, cmd: Command) => {
      await withFs(cmd, async (fs) => {
        for (const p of paths) {
          try {
            await fs.rm(absolute(p), { recursive: o.recursive ?? false });
          } catch (err) {
            if (!(o.force && (err as { errno?: string }).errno === 'ENOENT')) throw err;
          }
        }
      });
    });

  fsCmd
    .command('mv')
    .description('rename or move, atomically')
    .argument('<source>')
    .argument('<dest>')
    .action(async (src: string, dst: string, _o: unknown, cmd: Command) => {
      await withFs(cmd, async (fs) =>
        fs.rename(absolute(src), await intoDir(fs, src, absolute(dst))),
      );
    });

  fsCmd
    .command('cp')
    .description('copy inside TableOS (-r: a tree, in one transaction)')
    .argument('<source>')
    .argument('<dest>')
    .option('-r, --recursive', 'copy directories recursively')
    .action(async (src: string, dst: string, o: { recursive?: boolean }, cmd: Command) => {
      await withFs(cmd, async (fs) => {
        await fs.copy(absolute(src), absolute(dst), { recursive: o.recursive ?? false });
      });
    });
}
