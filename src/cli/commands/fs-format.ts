// How the fs utilities print: ls -l lines (aligned by the CLI's one formatter), tree drawings,
// stat blocks, progress bars.
import cliProgress from 'cli-progress';
import { alignRow, columnWidths } from '../format.js';
import type { Progress } from '../../fs/transfer.js';
import type { ListEntry, Stats, WalkEntry } from '../../fs/types.js';

export function modeString(type: string, mode: number): string {
  const t = type === 'directory' ? 'd' : type === 'symlink' ? 'l' : '-';
  const bit = (m: number, c: string) => (mode & m ? c : '-');
  const special = (x: number, s: number, lower: string, upper: string, plain: string) =>
    mode & s ? (mode & x ? lower : upper) : mode & x ? plain : '-';
  return (
    t +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    special(0o100, 0o4000, 's', 'S', 'x') +
    bit(0o40, 'r') +
    bit(0o20, 'w') +
    special(0o10, 0o2000, 's', 'S', 'x') +
    bit(0o4, 'r') +
    bit(0o2, 'w') +
    special(0o1, 0o1000, 't', 'T', 'x')
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function lsTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

const LONG_RIGHT = [false, true, false, false, true, false];

/** ls -l lines with aligned columns (times in UTC). */
export function longLines(entries: ListEntry[], name: (e: ListEntry) => string): string[] {
  const cells = entries.map((e) => [
    modeString(e.type, e.mode),
    String(e.nlink),
    String(e.uid),
    String(e.gid),
    String(e.size),
    lsTime(e.mtime),
  ]);
  const widths = columnWidths(cells);
  return entries.map(
    (e, i) =>
      `${alignRow(cells[i]!, widths, LONG_RIGHT, ' ')} ${name(e)}${e.type === 'symlink' ? ` -> ${e.target ?? ''}` : ''}`,
  );
}

/** tree(1)-style drawing of a pre-order walk. */
export function treeLines(entries: WalkEntry[]): string[] {
  // Scanning backwards: an entry is the last child when no sibling follows it before the
  // walk climbs above its depth.
  const lastChild = new Set<number>();
  const siblingAfter: boolean[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const d = entries[i]!.depth;
    if (!siblingAfter[d]) lastChild.add(i);
    siblingAfter[d] = true;
    siblingAfter.length = d + 1;
  }
  const out: string[] = [];
  const open: boolean[] = [];
  let dirs = 0;
  let files = 0;
  for (const [i, e] of entries.entries()) {
    if (e.depth === 0) {
      out.push(e.path);
      continue;
    }
    if (e.type === 'directory') dirs++;
    else files++;
    const last = lastChild.has(i);
    const prefix = open
      .slice(1, e.depth)
      .map((o) => (o ? '│   ' : '    '))
      .join('');
    out.push(`${prefix}${last ? '└── ' : '├── '}${e.name}`);
    open[e.depth] = !last;
  }
  out.push(
    '',
    `${dirs} ${dirs === 1 ? 'directory' : 'directories'}, ${files} ${files === 1 ? 'file' : 'files'}`,
  );
  return out;
}

export function statLines(path: string, s: Stats): string[] {
  const kind =
    s.type === 'directory' ? 'directory' : s.type === 'symlink' ? 'symbolic link' : 'regular file';
  return [
    `  File: ${path}${s.type === 'symlink' ? ` -> ${s.target ?? ''}` : ''}`,
    `  Size: ${s.size}\tInode: ${s.ino}\tLinks: ${s.nlink}\t${kind}`,
    `Access: (${(s.mode & 0o7777).toString(8).padStart(4, '0')}/${modeString(s.type, s.mode)})  Uid: ${s.uid}  Gid: ${s.gid}`,
    `Access: ${s.atime.toISOString()}`,
    `Modify: ${s.mtime.toISOString()}`,
    `Change: ${s.ctime.toISOString()}`,
  ];
}

/** A progress bar on stderr when it is a terminal (or when forced); otherwise nothing. */
export function progressBar(force: boolean): { update: (p: Progress) => void; stop: () => void } {
  if (!force && !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{bar} {percentage}% | {entries}/{totalEntries} entries | {mb}/{totalMb} MB',
      hideCursor: true,
      noTTYOutput: force,
      notTTYSchedule: 1000,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return {
    update(p) {
      const payload = { ...p, mb: mb(p.bytes), totalMb: mb(p.totalBytes) };
      if (!started) {
        bar.start(Math.max(p.totalBytes, 1), p.bytes, payload);
        started = true;
      } else bar.update(p.bytes, payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
