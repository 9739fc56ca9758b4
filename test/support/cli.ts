// Runs the built tableos command as a real process: to its end (runCli), or as a node that
// runs until killed (startCli).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { liveChildren } from './spawn.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000,
  cwd?: string,
): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TABLEOS_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(cwd !== undefined ? { cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

export interface RunningCli {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything printed on stdout so far. */
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves with the first match of re in stdout; rejects if the process exits first. */
  waitFor: (re: RegExp) => Promise<RegExpExecArray>;
}

/** Starts the built tableos command as a long-running process (a node); killed after the file if left running. */
export function startCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: { cwd?: string } = {},
): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, TABLEOS_LOG_LEVEL: 'warn', TABLEOS_FAULT: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  liveChildren.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      liveChildren.delete(child);
      resolve(code);
    }),
  );
  const waitFor = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const look = () => {
        const m = re.exec(out);
        if (m) {
          child.stdout.off('data', look);
          resolve(m);
        }
      };
      child.stdout.on('data', look);
      look();
      void exited.then(() =>
        reject(new Error(`tableos exited before printing ${re}: ${out}${err}`)),
      );
    });
  return { child, stdout: () => out, stderr: () => err, exited, waitFor };
}
