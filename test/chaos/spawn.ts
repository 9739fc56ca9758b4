// Starts a worker fixture (a .ts file, through tsx) outside Vitest, for `npm run chaos`; the
// tests use test/support/spawn.ts. Only the end of stderr is kept, so long runs stay small.
import { spawn } from 'node:child_process';
import type { Spawned, SpawnedExit, Spawner } from './workers.js';

const KEEP = 64 * 1024;

export const spawnProcess: Spawner = (file, opts) => {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, TABLEOS_FAULT: undefined, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 2 * KEEP) stderr = stderr.slice(-KEEP);
  });
  const exited = new Promise<SpawnedExit>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not exit within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: '', stderr });
    });
  });
  return { child, exited } satisfies Spawned;
};
