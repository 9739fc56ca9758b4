// The embedded PostgreSQL, driven through the real `tableos` command with its own data dirs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive, readPostmasterPid } from '../../src/kernel/embedded/pid-file.js';
import { CLI, runCli } from '../support/cli.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-emb-'));
  fs.chmodSync(d, 0o755);
  dirs.push(d);
  return path.join(d, 'data');
}

// Without DATABASE_URL, so the command uses the embedded server.
const noUrl = {
  DATABASE_URL: undefined,
  PGHOST: undefined,
  PGPORT: undefined,
  PGDATABASE: undefined,
};

/** Starts `tableos start` and resolves once it reports the node is up. */
function startNode(
  dir: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [CLI, 'start', '-d', dir, ...extra], {
    env: { ...process.env, ...noUrl, TABLEOS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes('stop with Ctrl-C')) {
        clearInterval(t);
        resolve({ child, out: () => out });
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(t);
      reject(new Error(`start exited with ${code}: ${err}`));
    });
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c)),
  );

// Where a cluster moved out of an unreachable data directory lives.
const MOVED = '/var/lib/tableos/clusters';

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) {
    const pgdata = path.join(d, 'data', 'pgdata');
    const pm = readPostmasterPid(pgdata);
    if (pm && processAlive(pm.pid)) {
      process.kill(pm.pid, 'SIGQUIT');
      while (processAlive(pm.pid)) await new Promise((r) => setTimeout(r, 20));
    }
    // The moved cluster is named after this test's own data directory, so it is ours alone.
    const target = linkTarget(pgdata);
    if (target !== undefined && path.dirname(target) === MOVED) {
      fs.rmSync(target, { recursive: true, force: true });
    }
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function linkTarget(file: string): string | undefined {
  try {
    return path.resolve(path.dirname(file), fs.readlinkSync(file));
  } catch {
    return undefined;
  }
}

function idsOf(user: string) {
  return {
    uid: Number(spawnSync('id', ['-u', user]).stdout),
    gid: Number(spawnSync('id', ['-g', user]).stdout),
  };
}

describe('embedded PostgreSQL', () => {
  it('starts, serves commands, stops on SIGTERM, and reuses its data on the next start', async () => {
    const dir = dataDir();
    const a = await startNode(dir);
    expect(a.out()).toMatch(
      /database\s+PostgreSQL 1\d\.\d+ at 127\.0\.0\.1:\d+\/tableos \(embedded/,
    );
    const pm = readPostmasterPid(path.join(dir, 'pgdata'))!;
    const ps = await runCli(['ps', '--json', '-d', dir], noUrl);
    expect(ps.code, ps.stderr).toBe(0);
    const first = JSON.parse(ps.stdout.trim()) as { id: string; status: string };
    expect(first.status).toBe('alive');
    await runCli(
      [
        'sql',
        '-d',
        dir,
        'create table public.keep (v text); insert into public.keep values ($$kept$$)',
      ],
      noUrl,
    );

    a.child.kill('SIGTERM');
    expect(await exited(a.child)).toBe(0);
    expect(a.out()).toContain('TableOS node stopped');
    expect(processAlive(pm.pid)).toBe(false);

    const credentials = fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8');
    const b = await startNode(dir);
    const rows = await runCli(['sql', '--json', '-d', dir, 'select v from public.keep'], noUrl);
    expect(rows.stdout.trim()).toBe('{"v":"kept"}');
    const all = await runCli(['ps', '-a', '--json', '-d', dir], noUrl);
    const execs = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; status: string });
    expect(execs.find((e) => e.id === first.id)?.status).toBe('stopped');
    expect(fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8')).toBe(credentials);
    b.child.kill('SIGINT');
    expect(await exited(b.child)).toBe(0);
  });

  it('recovers from kill -9 of node and server, and from a postmaster.pid naming another program', async () => {
    const dir = dataDir();
    const a = await startNode(dir);
    const pm = readPostmasterPid(path.join(dir, 'pgdata'))!;
    a.child.kill('SIGKILL');
    process.kill(pm.pid, 'SIGKILL');
    await exited(a.child);
    while (processAlive(pm.pid)) await new Promise((r) => setTimeout(r, 20));
    const pidFile = path.join(dir, 'pgdata', 'postmaster.pid');
    const stale = fs.readFileSync(pidFile, 'utf8').split('\n');
    // The killed server's children may linger a moment; the stale file must not stop the next start.
    const status = await runCli(['status', '--json', '-d', dir], noUrl);
    expect(status.code, status.stderr).toBe(0);

    // A pid file whose pid now belongs to a different, live program.
    const sleeper = spawn('sleep', ['30']);
    children.push(sleeper);
    stale[0] = String(sleeper.pid);
    fs.writeFileSync(pidFile, stale.join('\n'));
    const again = await runCli(['status', '--json', '-d', dir], noUrl);
    expect(again.code, again.stderr).toBe(0);
    sleeper.kill('SIGKILL');
  });

  it('lets commands attach to a running node and leaves its server running', async () => {
    const dir = dataDir();
    // Three commands at once on a fresh directory: one initialises, all share one server.
    const first = await Promise.all(
      [1, 2, 3].map(() => runCli(['status', '--json', '-d', dir], noUrl)),
    );
    for (const r of first) expect(r.code, r.stderr).toBe(0);
    const node = await startNode(dir);
    const pm = readPostmasterPid(path.join(dir, 'pgdata'))!;
    const q = 'select pg_postmaster_start_time() as t, inet_server_port() as port';
    const runs = await Promise.all(
      [1, 2, 3].map(() => runCli(['sql', '--json', '-d', dir, q], noUrl)),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(new Set(runs.map((r) => r.stdout)).size).toBe(1);
    expect(JSON.parse(runs[0]!.stdout)).toMatchObject({ port: pm.port });
    // The commands are gone; the node still owns a running server.
    expect(processAlive(pm.pid)).toBe(true);
    const ps = await runCli(['ps', '--json', '-d', dir], noUrl);
    expect(ps.stdout.trim().split('\n')).toHaveLength(1);
    node.child.kill('SIGTERM');
    expect(await exited(node.child)).toBe(0);
    expect(processAlive(pm.pid)).toBe(false);
  });

  it('reports a port in use, and leaves the data dir usable', async () => {
    const dir = dataDir();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await runCli(['start', '-d', dir, '--port', String(port)], noUrl);
    blocker.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`port ${port} is already in use`);
    expect(fs.existsSync(path.join(dir, 'pgdata', 'postmaster.pid'))).toBe(false);
    const ok = await runCli(['status', '--json', '-d', dir], noUrl);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('reports an unusable data directory and creates nothing', async () => {
    const r = await runCli(['status', '-d', '/etc/hostname/data'], noUrl);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('data directory /etc/hostname/data is not usable');
    expect(r.stderr).toContain('TABLEOS_DATA_DIR_UNWRITABLE');
  });

  it.runIf(process.getuid?.() === 0)(
    'runs as an ordinary user too (as root, checked as nobody)',
    () => {
      const nobody = idsOf('nobody');
      const dir = dataDir();
      fs.chownSync(path.dirname(dir), nobody.uid, nobody.gid);
      const canRead = spawnSync('/bin/sh', ['-c', `test -r "${CLI}"`], nobody).status === 0;
      expect(canRead, `${CLI} must be readable by nobody for this test`).toBe(true);
      const r = spawnSync(process.execPath, [CLI, 'status', '--json', '-d', dir], {
        ...nobody,
        env: { PATH: process.env.PATH, HOME: '/tmp', TABLEOS_LOG_LEVEL: 'warn' },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { database: { kind: string } }).database.kind).toBe(
        'embedded',
      );
      expect(fs.statSync(path.join(dir, 'pgdata')).uid).toBe(nobody.uid);
    },
  );

  it('as root, moves the cluster out of a data directory the tableos user cannot enter', async (ctx) => {
    ctx.skip(
      process.getuid?.() !== 0,
      'needs root: only as root does postgres run as the tableos user',
    );
    // Like a data dir inside `mktemp -d`: the parent is private to root.
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-emb-private-'));
    fs.chmodSync(parent, 0o700);
    dirs.push(parent);
    const dir = path.join(parent, 'data');
    const env = { ...noUrl, TABLEOS_DATA_DIR: dir };
    const made = await runCli(
      ['sql', 'create table public.keep (v text); insert into public.keep values ($$kept$$)'],
      env,
    );
    expect(made.code, made.stderr).toBe(0);

    const tableos = idsOf('tableos');
    const enter = spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', dir], tableos);
    expect(enter.status, 'the tableos user must not be able to enter the data dir').not.toBe(0);
    const pgdata = path.join(dir, 'pgdata');
    expect(fs.lstatSync(pgdata).isSymbolicLink()).toBe(true);
    const real = linkTarget(pgdata)!;
    expect(path.dirname(real)).toBe(MOVED);
    expect(fs.statSync(real).uid).toBe(tableos.uid);
    expect(fs.readFileSync(path.join(real, 'PG_VERSION'), 'utf8')).toMatch(/^1\d\n$/);
    // The command stopped the server on exit, and initdb's password file is gone.
    expect(fs.existsSync(path.join(real, 'postmaster.pid'))).toBe(false);
    const leftovers = [
      ...fs.readdirSync(dir),
      ...fs.readdirSync(MOVED).filter((n) => n.startsWith(path.basename(real))),
    ].filter((n) => n.includes('.pw-'));
    expect(leftovers).toEqual([]);

    // A second start reuses the moved cluster and its credentials.
    const credentials = fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8');
    const rows = await runCli(['sql', '--json', 'select v from public.keep'], env);
    expect(rows.code, rows.stderr).toBe(0);
    expect(rows.stdout.trim()).toBe('{"v":"kept"}');
    expect(linkTarget(pgdata)).toBe(real);
    expect(fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8')).toBe(credentials);
  });
});
