// Starting, awaiting and stopping the postgres server process of an initialised cluster.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import getPort from 'get-port';
import { EmbeddedPostgresError, PortInUseError } from '../errors.js';
import { processAlive, readPostmasterPid } from './pid-file.js';
import type { RunAs } from './system-user.js';

const START_TIMEOUT_MS = 60_000;
// After kill -9, the old server's backends hold its shared memory until they notice their
// postmaster is gone (usually within milliseconds); postgres refuses to start until then.
const OLD_MEMORY_WAIT_MS = 15_000;

/** How the postmaster ended: its exit code, or the signal that killed it. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A postmaster this process spawned: its pid and its exit. */
export interface SpawnedServer {
  pid: number;
  exited: Promise<ServerExit>;
}

/** The wanted port if it is free, else any free one when none was asked for. */
export async function choosePort(wanted: number | undefined): Promise<number> {
  if (wanted === undefined) return getPort({ host: '127.0.0.1' });
  if (!(await portFree(wanted))) throw new PortInUseError(wanted);
  return wanted;
}

/**
 * Spawns postgres on pgdata and resolves once it accepts connections; while a killed
 * predecessor's processes still hold its shared memory, tries again (for up to 15 s).
 */
export async function startServer(
  root: string,
  pgdata: string,
  logFile: string,
  port: number,
  runAs: RunAs | undefined,
): Promise<SpawnedServer> {
  const deadline = Date.now() + OLD_MEMORY_WAIT_MS;
  for (;;) {
    try {
      return await spawnServer(root, pgdata, logFile, port, runAs);
    } catch (err) {
      if (!(err instanceof OldServerLingersError) || Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

class OldServerLingersError extends EmbeddedPostgresError {}

async function spawnServer(
  root: string,
  pgdata: string,
  logFile: string,
  port: number,
  runAs: RunAs | undefined,
): Promise<SpawnedServer> {
  const out = fs.openSync(logFile, 'a');
  const real = fs.realpathSync(pgdata);
  const child = spawn(path.join(root, 'bin', 'postgres'), ['-D', real, '-p', String(port)], {
    // Own process group: a terminal's Ctrl-C reaches the node, which then stops the server in order.
    detached: true,
    stdio: ['ignore', out, out],
    ...(runAs ?? {}),
  });
  fs.closeSync(out);
  let exit: ServerExit | undefined;
  const exited = new Promise<ServerExit>((resolve) =>
    child.on('exit', (code, signal) => resolve((exit = { code, signal }))),
  );
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new EmbeddedPostgresError('could not spawn postgres');
  const deadline = Date.now() + START_TIMEOUT_MS;
  const logStart = fs.statSync(logFile).size;
  while (Date.now() < deadline) {
    if (exit !== undefined) {
      const tail = readFrom(logFile, logStart);
      if (/could not bind|Address already in use/i.test(tail)) throw new PortInUseError(port);
      const message = `postgres exited during start (code ${exit.code}): ${tail.trim().slice(-800)}`;
      if (/pre-existing shared memory block .* is still in use/.test(tail))
        throw new OldServerLingersError(message);
      throw new EmbeddedPostgresError(message);
    }
    const pm = readPostmasterPid(pgdata);
    if (pm?.pid === pid && pm.status === 'ready') return { pid, exited };
    await sleep(25);
  }
  await stopServer(pid);
  throw new EmbeddedPostgresError(
    `postgres did not become ready within ${START_TIMEOUT_MS / 1000}s; see ${logFile}`,
  );
}

/** Waits for a server another process started to accept connections. */
export async function waitReady(pgdata: string, pid: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (readPostmasterPid(pgdata)?.status === 'ready') return;
    if (!processAlive(pid))
      throw new EmbeddedPostgresError('embedded postgres exited while starting');
    await sleep(25);
  }
  throw new EmbeddedPostgresError(`embedded postgres (pid ${pid}) did not become ready`);
}

/** Fast shutdown, then waits for the server to exit (forcing it after 30 s). */
export async function stopServer(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
  } catch {
    return;
  }
  const deadline = Date.now() + 30_000;
  while (processAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      break;
    }
    await sleep(20);
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function readFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
