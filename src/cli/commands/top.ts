// tableos top: a live view of executors, queues, tasks and workflows, redrawn every second
// until q or Ctrl-C; --once prints one frame for scripts.
import type { Command } from 'commander';
import { readSnapshot } from '../../console/snapshot.js';
import type { TableOS } from '../../tableos.js';
import { withOS } from '../context.js';
import { renderFrame, type Frame } from './top-frame.js';

const CLEAR = '\x1b[H\x1b[2J';

async function frame(os: TableOS): Promise<Frame> {
  return { snap: await readSnapshot(os.sql), at: new Date() };
}

/** Redraws every intervalMs until q, Ctrl-C or SIGINT/SIGTERM. */
async function live(os: TableOS, intervalMs: number): Promise<void> {
  const stdin = process.stdin;
  const raw = stdin.isTTY;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onKey = (d: Buffer) => {
    const k = d.toString();
    if (k === 'q' || k === 'Q' || k === '\u0003') stop();
  };
  if (raw) stdin.setRawMode(true);
  stdin.on('data', onKey);
  stdin.resume();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let before: Frame | undefined;
  try {
    for (;;) {
      const now = await frame(os);
      process.stdout.write(CLEAR + renderFrame(now, before, true));
      before = now;
      let t: NodeJS.Timeout | undefined;
      const next = new Promise<'tick'>((r) => (t = setTimeout(() => r('tick'), intervalMs)));
      const why = await Promise.race([next, stopped.then(() => 'stop' as const)]);
      clearTimeout(t);
      if (why === 'stop') return;
    }
  } finally {
    stdin.off('data', onKey);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export function register(program: Command): void {
  program
    .command('top')
    .description('live view of executors, queues, tasks and workflows (q or Ctrl-C quits)')
    .option('--once', 'print one frame and exit')
    .option('-n, --interval <ms>', 'redraw interval in milliseconds', '1000')
    .action(async (opts: { once?: boolean; interval: string }, cmd: Command) => {
      const intervalMs = Number(opts.interval);
      if (!Number.isInteger(intervalMs) || intervalMs < 100)
        cmd.error('--interval must be an integer number of milliseconds >= 100');
      await withOS(cmd, async (os) => {
        if (opts.once) {
          process.stdout.write(renderFrame(await frame(os), undefined, false));
          return;
        }
        await live(os, intervalMs);
      });
    });
}
