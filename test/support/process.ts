// Runs a fixture (a .ts file, through tsx) as a real child process: for the crash tests (via
// spawn.ts, which also kills what a failed test left running) and for scripts/chaos.ts.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';

export interface FixtureOptions {
  /** Arguments after the fixture's path. */
  args?: string[];
  /** Added to this process's environment (DATABASE_URL, TABLEOS_FAULT, ...); undefined unsets. */
  env?: Record<string, string | undefined>;
  /** Past this the child is SIGKILLed and its exit promise rejects (default 60 s). */
  timeoutMs?: number;
  /** Keep only about the last this many characters of stdout and stderr (long runs). */
  keepChars?: number;
}

export interface FixtureExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningFixture {
  /** stdout and stderr are piped; listen to child.stdout to follow the child's progress. */
  child: ChildProcessByStdio<null, Readable, Readable>;
  exited: Promise<FixtureExit>;
}

/** Children started and not yet exited. */
export const liveChildren = new Set<RunningFixture['child']>();

/** Starts a long-running fixture; the caller kills it or waits for `exited`. */
export function startFixture(file: string, opts: FixtureOptions = {}): RunningFixture {
  const args = opts.args ?? [];
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    // A fault point is armed only by the test that asks for it, never by the parent's env.
    env: { ...process.env, TABLEOS_FAULT: undefined, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  let stdout = '';
  let stderr = '';
  const keep = opts.keepChars ?? Infinity;
  const append = (to: string, d: Buffer) => {
    const s = to + d.toString();
    return s.length > 2 * keep ? s.slice(-keep) : s;
  };
  child.stdout.on('data', (d: Buffer) => (stdout = append(stdout, d)));
  child.stderr.on('data', (d: Buffer) => (stderr = append(stderr, d)));
  const exited = new Promise<FixtureExit>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      // Rejecting, not resolving: a hung child must not pass for one killed at its fault point.
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      if (!timedOut) resolve({ code, signal, stdout, stderr });
      else {
        const what = [path.basename(file), ...args].join(' ');
        reject(new Error(`fixture ${what} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
      }
    });
  });
  return { child, exited };
}

/** Runs a fixture to its end (or its death) and returns how it exited and what it printed. */
export function runFixture(file: string, opts: FixtureOptions = {}): Promise<FixtureExit> {
  return startFixture(file, opts).exited;
}
