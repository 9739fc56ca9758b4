// Reads postmaster.pid to tell a running server (to reuse) from a stale file left by kill -9.
import fs from 'node:fs';
import path from 'node:path';

export interface PostmasterInfo {
  pid: number;
  port: number;
  /** Line 8 of the file: 'ready' once the server accepts connections. */
  status: string;
}

export function readPostmasterPid(pgdata: string): PostmasterInfo | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, port, status: (lines[7] ?? '').trim() };
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True if pid is alive and is a postgres server for this data directory (pids get reused). */
export function isPostmasterOf(pid: number, pgdata: string): boolean {
  if (!processAlive(pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!cmdline.some((a) => a.endsWith('postgres'))) return false;
    const d = cmdline.indexOf('-D');
    const dir = d >= 0 ? cmdline[d + 1] : undefined;
    return (
      dir === undefined ||
      path.resolve(dir) === path.resolve(pgdata) ||
      fs.realpathSync(dir) === fs.realpathSync(pgdata)
    );
  } catch {
    // No /proc (macOS): trust the liveness check.
    return true;
  }
}

/**
 * Readies the postmaster.pid of a server that is gone for the next start. The file is kept:
 * postgres itself then checks that no process of the old server is still attached to its
 * shared memory, and refuses to start while one is (deleting the file would skip that check
 * and let two servers write the same data). Only when the pid now belongs to another program,
 * which postgres would take for a running server, is it replaced with this process's pid:
 * postgres treats its parent's pid as a stale lock and goes on to the shared-memory check.
 * Returns what was done, for the log.
 */
export function readyStalePidFile(pgdata: string, stale: PostmasterInfo): 'kept' | 'rewritten' {
  if (!processAlive(stale.pid)) return 'kept';
  const file = path.join(pgdata, 'postmaster.pid');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[0] = String(process.pid);
  fs.writeFileSync(file, lines.join('\n'));
  return 'rewritten';
}
