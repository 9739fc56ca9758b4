// Runs a test fixture (a .ts file, through tsx) as a real child process, for the crash tests.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll } from 'vitest';

export interface FixtureOptions {
  /** Arguments after the fixture's path. */
  args?: string[];
  /** Added to this process's environment (DATABASE_URL, TABLEOS_FAULT, ...); undefined unsets. */
  env?: Record<string, string | undefined>;
  /** Past this the child is SIGKILLed and its exit promise rejects (default 60 s). */
  timeoutMs?: number;
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

const live = new Set<RunningFixture['child']>();

// A test that fails before killing its child must not leave the child running.
afterAll(() => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts a long-running fixture; the caller kills it or waits for `exited`. */
export function startFixture(file: string, opts: FixtureOptions = {}): RunningFixture {
  const args = opts.args ?? [];
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    // A fault point is armed only by the test that asks for it, never by the parent's env.
    env: { ...process.env, TABLEOS_FAULT: undefined, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<FixtureExit>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      // Rejecting, not resolving: a hung child must not pass for one killed at its fault point.
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
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
