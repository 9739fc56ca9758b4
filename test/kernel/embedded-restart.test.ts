// The embedded server is started again when it dies under a running node (kill -9 of the
// postmaster), and a clean restart by an operator (pg_ctl restart -m fast) is waited for;
// a node's own stop never triggers a restart.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findBinaries } from '../../src/kernel/embedded/binaries.js';
import { processAlive, readPostmasterPid } from '../../src/kernel/embedded/pid-file.js';
import {
  ensureSystemUser,
  isRoot,
  reachableBinaries,
} from '../../src/kernel/embedded/system-user.js';
import { TableOS } from '../../src/tableos.js';
import { CLI, runCli } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
// Without DATABASE_URL / PG*, so the node uses the embedded server.
const SERVER_ENV = ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGDATABASE'] as const;
const noUrl = Object.fromEntries(SERVER_ENV.map((k) => [k, undefined]));

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-restart-'));
  // As root the server runs as the tableos user, which must reach the directory.
  fs.chmodSync(d, 0o755);
  dirs.push(d);
  return path.join(d, 'data');
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) {
    const pm = readPostmasterPid(path.join(d, 'data', 'pgdata'));
    if (pm && processAlive(pm.pid)) {
      process.kill(pm.pid, 'SIGQUIT');
      while (processAlive(pm.pid)) await new Promise((r) => setTimeout(r, 20));
    }
    fs.rmSync(d, { recursive: true, force: true });
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function postmasterGone(pid: number): Promise<void> {
  await waitFor(() => !processAlive(pid), { what: `postmaster ${pid} to exit` });
}

/** pg_ctl run as the user the embedded server runs as (postgres refuses root). */
async function pgCtl(args: string[]): Promise<void> {
  const bins = await findBinaries();
  const runAs = isRoot() ? ensureSystemUser() : undefined;
  const root = runAs ? reachableBinaries(runAs, bins.root) : bins.root;
  // Not spawnSync: the node in this process must go on running while the operator acts.
  const child = spawn(path.join(root, 'bin', 'pg_ctl'), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(runAs ?? {}),
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  expect(code, `pg_ctl ${args.join(' ')}: ${output}`).toBe(0);
}

describe('tableos start restarts its embedded server', () => {
  it('after kill -9 of the postmaster: same port, crash recovery, the node works again, and the log says so', async () => {
    const dir = dataDir();
    const node = spawn(process.execPath, [CLI, 'start', '-d', dir], {
      env: { ...process.env, ...noUrl, TABLEOS_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(node);
    let out = '';
    let log = '';
    node.stdout.on('data', (d: Buffer) => (out += d.toString()));
    node.stderr.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => out.includes('stop with Ctrl-C'), { what: 'the node to start' });
    const executor = /executor (\S+)/.exec(out)?.[1];
    expect(executor).toBeDefined();

    const made = await runCli(
      [
        'sql',
        '-d',
        dir,
        'create table public.kept (v text); insert into public.kept values ($$before$$)',
      ],
      noUrl,
    );
    expect(made.code, made.stderr).toBe(0);
    const pgdata = path.join(dir, 'pgdata');
    const first = readPostmasterPid(pgdata)!;
    expect(first.status).toBe('ready');

    process.kill(first.pid, 'SIGKILL');
    await postmasterGone(first.pid);
    await waitFor(() => /embedded PostgreSQL restarted after \d+ ms/.test(log), {
      what: 'the restart to be logged',
    });
    expect(log).toContain('embedded PostgreSQL exited (signal SIGKILL); restarting');

    const second = readPostmasterPid(pgdata)!;
    expect(second.pid).not.toBe(first.pid);
    expect(second.port).toBe(first.port);
    expect(processAlive(second.pid)).toBe(true);
    // PostgreSQL's own crash recovery ran, and the committed row survived it.
    expect(fs.readFileSync(path.join(dir, 'postgres.log'), 'utf8')).toContain(
      'database system was not properly shut down; automatic recovery in progress',
    );
    const rows = await runCli(['sql', '--json', '-d', dir, 'select v from public.kept'], noUrl);
    expect(rows.stdout.trim()).toBe('{"v":"before"}');

    // The node's own queries work again: its heartbeat moves past the restart.
    const now = await runCli(['sql', '--json', '-d', dir, 'select now()::text as t'], noUrl);
    const t = (JSON.parse(now.stdout) as { t: string }).t;
    await waitFor(
      async () => {
        const r = await runCli(
          [
            'sql',
            '--json',
            '-d',
            dir,
            `select count(*)::int as n from tableos.executor where status = 'alive' and pid = ${node.pid} and heartbeat_at > '${t}'`,
          ],
          noUrl,
        );
        return r.code === 0 && (JSON.parse(r.stdout) as { n: number }).n === 1;
      },
      { what: 'a heartbeat of the node after the restart', timeoutMs: 15_000, intervalMs: 200 },
    );

    // A clean stop: the server goes down with the node and is not started again.
    node.kill('SIGTERM');
    const code = await new Promise<number | null>((r) =>
      node.exitCode !== null ? r(node.exitCode) : node.once('exit', (c) => r(c)),
    );
    expect(code, log).toBe(0);
    expect(processAlive(second.pid)).toBe(false);
    expect(fs.existsSync(path.join(pgdata, 'postmaster.pid'))).toBe(false);
    expect(log.match(/; restarting/g)).toHaveLength(1);
  });
});

describe('a library node on the embedded server (TableOS.open)', () => {
  const saved: Record<string, string | undefined> = {};
  let lines: string[] = [];
  let node: TableOS | undefined;
  let dir = '';

  beforeEach(async () => {
    for (const k of SERVER_ENV) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
    lines = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    dir = dataDir();
    node = await TableOS.open({ dataDir: dir, logger, heartbeatMs: 200, leaseMs: 2000 });
    await node.sql`create table public.kept (v text)`;
    await node.sql`insert into public.kept values ('before')`;
  });

  afterEach(async () => {
    await node?.close();
    node = undefined;
    for (const k of SERVER_ENV) if (saved[k] !== undefined) process.env[k] = saved[k];
  });

  const logged = (msg: RegExp) =>
    lines.some((l) => msg.test((JSON.parse(l) as { msg: string }).msg));

  async function queriesWork(os: TableOS): Promise<void> {
    await waitFor(
      async () => {
        try {
          const [r] = await os.sql<{ v: string }[]>`select v from public.kept`;
          return r?.v === 'before';
        } catch {
          return false;
        }
      },
      { what: 'a query on the node to work again', timeoutMs: 20_000, intervalMs: 50 },
    );
  }

  it('starts the server again after kill -9, and not after close()', async () => {
    const os = node!;
    const pgdata = path.join(dir, 'pgdata');
    const first = readPostmasterPid(pgdata)!;
    process.kill(first.pid, 'SIGKILL');
    await postmasterGone(first.pid);
    await queriesWork(os);
    await waitFor(() => logged(/^embedded PostgreSQL restarted after \d+ ms$/), {
      what: 'the restart to be logged',
    });
    expect(logged(/^embedded PostgreSQL exited \(signal SIGKILL\); restarting$/)).toBe(true);
    const second = readPostmasterPid(pgdata)!;
    expect(second.pid).not.toBe(first.pid);
    expect(second.port).toBe(first.port);
    expect(os.db.embedded?.current?.pid).toBe(second.pid);

    await os.close();
    node = undefined;
    expect(processAlive(second.pid)).toBe(false);
    // Give a wrongly armed watcher the time it would take to start the server again.
    await sleep(1_000);
    expect(readPostmasterPid(pgdata)).toBeUndefined();
    expect(lines.filter((l) => l.includes('; restarting'))).toHaveLength(1);
  });

  it('waits for a clean restart by an operator (pg_ctl restart -m fast) and attaches to it', async () => {
    const os = node!;
    const pgdata = path.join(dir, 'pgdata');
    const first = readPostmasterPid(pgdata)!;
    const real = fs.realpathSync(pgdata);
    // The log goes inside the cluster directory, which the server's user owns.
    await pgCtl(['restart', '-m', 'fast', '-w', '-D', real, '-l', path.join(real, 'pg_ctl.log')]);
    const second = readPostmasterPid(pgdata)!;
    expect(second.pid).not.toBe(first.pid);
    expect(second.port).toBe(first.port);
    await queriesWork(os);
    await waitFor(
      () => logged(/^embedded PostgreSQL is back after \d+ ms \(started by another process\)$/),
      {
        what: 'the node to attach to the restarted server',
      },
    );
    // Seen through the exit event, or through the pid check if that came first.
    expect(
      logged(/^embedded PostgreSQL exited \((code 0|shut down by another process)\); restarting$/),
    ).toBe(true);
    // No second server was started beside the operator's.
    expect(logged(/^embedded PostgreSQL restarted after/)).toBe(false);
    expect(os.db.embedded?.current?.pid).toBe(second.pid);

    // The node is its last client: its close stops the operator's server too.
    await os.close();
    node = undefined;
    expect(processAlive(second.pid)).toBe(false);
  });
});
