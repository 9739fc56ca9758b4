// A single-node Restate for a benchmark run: the restate-server binary from npm on free ports
// with a fresh base dir, and the handler services served in-process over HTTP/2 (h2c) and
// registered with the admin API. close() stops the server by pid and removes the dir.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as restate from '@restatedev/restate-sdk';
import getPort from 'get-port';

type Services = restate.EndpointOptions['services'];

// The SDK calls Promise.withResolvers, which Node has from 22 on; TableOS supports Node 20.
const P = Promise as { withResolvers?: unknown };
P.withResolvers ??= <T>() => {
  let resolve!: (v: T | PromiseLike<T>) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

export interface RestatePeer {
  /** Ingress base URL, e.g. http://127.0.0.1:PORT; a service handler is at /SERVICE/HANDLER. */
  ingressUrl: string;
  adminUrl: string;
  version: string;
  close(): Promise<void>;
}

const START_MS = 60_000;
const TAIL_LINES = 20;

// Only the SDK's warnings and errors (a handler that throws is retried, silently otherwise),
// less the one about unsigned requests (the endpoint listens on loopback only) and those from
// invocations cut off by close(): the client has gone, Restate would retry them.
function sdkLogger(closing: () => boolean): restate.LoggerTransport {
  return (meta, message: unknown, ...rest: unknown[]) => {
    if (closing() || !['warn', 'error'].includes(String(meta.level))) return;
    if (String(message).startsWith('Accepting requests without validating')) return;
    console.error('restate sdk:', message, ...rest);
  };
}

function binary(): { bin: string; version: string } {
  const pkg = `@restatedev/restate-server-${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  let bin: string;
  try {
    bin = require.resolve(`${pkg}/bin/restate-server`);
  } catch {
    throw new Error(
      `${pkg} is not installed (an optional dependency of @restatedev/restate-server)`,
    );
  }
  fs.accessSync(bin, fs.constants.X_OK);
  const { version } = JSON.parse(
    fs.readFileSync(path.join(path.dirname(bin), '..', 'package.json'), 'utf8'),
  ) as { version: string };
  return { bin, version };
}

async function until(
  what: string,
  ms: number,
  probe: () => Promise<boolean>,
  dead: () => string | undefined,
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const gone = dead();
    if (gone !== undefined) throw new Error(gone);
    if (await probe().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startRestate(services: Services): Promise<RestatePeer> {
  const { bin, version } = binary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-bench-restate-'));
  const host = '127.0.0.1';
  const [ingress, admin, fabric, endpoint] = [
    await getPort({ host }),
    await getPort({ host }),
    await getPort({ host }),
    await getPort({ host }),
  ];
  let child: ChildProcess | undefined;
  let h2: http2.Http2Server | undefined;
  const sessions = new Set<http2.ServerHttp2Session>();
  const tail: string[] = [];
  let closing = false;
  // Last resort if the run dies without reaching close(): the server must not outlive it.
  const onExit = () => {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  process.once('exit', onExit);

  const close = async () => {
    closing = true;
    for (const s of sessions) s.destroy();
    await new Promise<void>((resolve) => (h2 ? h2.close(() => resolve()) : resolve()));
    const c = child;
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      process.kill(c.pid, 'SIGTERM');
      const killer = setTimeout(() => {
        if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
      }, 10_000);
      await exited;
      clearTimeout(killer);
    }
    process.removeListener('exit', onExit);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    child = spawn(
      bin,
      ['--no-logo', '--base-dir', dir, '--listen-mode', 'tcp', '--log-format', 'compact'],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          RESTATE_INGRESS__BIND_ADDRESS: `${host}:${ingress}`,
          RESTATE_ADMIN__BIND_ADDRESS: `${host}:${admin}`,
          RESTATE_BIND_ADDRESS: `${host}:${fabric}`,
          RESTATE_ADVERTISED_ADDRESS: `http://${host}:${fabric}/`,
          RESTATE_LOG_FILTER: 'warn',
          RESTATE_LOG_DISABLE_ANSI_CODES: 'true',
          RESTATE_DISABLE_TELEMETRY: 'true',
          RESTATE_SHUTDOWN_TIMEOUT: '5s',
          DO_NOT_TRACK: '1',
          RUST_BACKTRACE: '0',
        },
      },
    );
    const keep = (b: Buffer) => {
      for (const l of b.toString().split('\n')) if (l.trim() !== '') tail.push(l);
      tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    const dead = () => {
      if (spawnError) return `restate-server did not start: ${spawnError.message}`;
      const c = child!;
      if (c.exitCode === null && c.signalCode === null) return undefined;
      // Its release check (octocrab) always fails offline and is not why it stopped; a panic's
      // message comes before a note on backtraces.
      const said = tail.filter((l) => !l.includes('octocrab') && !l.startsWith('note: '));
      const last = said.at(-1) ?? '';
      return `restate-server exited (${c.exitCode ?? c.signalCode}): ${last.trim()}`;
    };
    const ok = (url: string) => async () => (await fetch(url)).ok;
    await until('the admin API', START_MS, ok(`http://${host}:${admin}/health`), dead);
    await until('the ingress', START_MS, ok(`http://${host}:${ingress}/restate/health`), dead);

    h2 = http2.createServer(
      restate.createEndpointHandler({ services, logger: sdkLogger(() => closing) }),
    );
    h2.on('session', (s) => {
      sessions.add(s);
      s.once('close', () => sessions.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      h2!.once('error', reject);
      h2!.listen(endpoint, host, resolve);
    });
    const res = await fetch(`http://${host}:${admin}/deployments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: `http://${host}:${endpoint}` }),
    });
    if (!res.ok) throw new Error(`registering the deployment: ${res.status} ${await res.text()}`);
    return {
      ingressUrl: `http://${host}:${ingress}`,
      adminUrl: `http://${host}:${admin}`,
      version,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
