// Stand-alone PostgreSQL servers from the embedded binaries, for tests that restart, kill and
// fail over the server under a running node: a primary, and a streaming standby made from a
// cold copy of its data directory. Each lives in its own temporary directory, removed (and
// its server killed) after the test file.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import { afterAll } from 'vitest';
import { findBinaries } from '../../src/kernel/embedded/binaries.js';
import { processAlive, readPostmasterPid } from '../../src/kernel/embedded/pid-file.js';
import {
  ensureSystemUser,
  isRoot,
  reachableBinaries,
  type RunAs,
} from '../../src/kernel/embedded/system-user.js';

export interface PgServer {
  name: string;
  dir: string;
  pgdata: string;
  port: number;
  /** URL of a database on this server alone (user postgres, trust auth on 127.0.0.1). */
  url(database?: string): string;
  start(): Promise<void>;
  /** pg_ctl stop (fast: open transactions roll back, a checkpoint is written). */
  stop(): Promise<void>;
  /** pg_ctl restart -m fast. */
  restart(): Promise<void>;
  /** SIGKILL to the postmaster, as a crash or a lost machine; waits for it to be gone. */
  kill(): Promise<number>;
  /** pg_ctl promote: a standby becomes a primary. */
  promote(): Promise<void>;
  postmasterPid(): number | undefined;
  /** Appends settings to postgresql.conf (read at the next start). */
  configure(settings: Record<string, string | number>): void;
}

interface Bins {
  root: string;
  runAs: RunAs | undefined;
}

const made: PgServer[] = [];
let binsOnce: Promise<Bins> | undefined;

afterAll(async () => {
  for (const s of made.splice(0)) {
    const pid = s.postmasterPid();
    if (pid !== undefined && processAlive(pid)) {
      process.kill(pid, 'SIGKILL');
      await until(() => !processAlive(pid), 10_000);
    }
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
});

function bins(): Promise<Bins> {
  binsOnce ??= (async () => {
    const found = await findBinaries();
    // Postgres refuses to run as root: as root, run it as TableOS's system user.
    const runAs = isRoot() ? ensureSystemUser() : undefined;
    return { root: runAs ? reachableBinaries(runAs, found.root) : found.root, runAs };
  })();
  return binsOnce;
}

async function run(bin: string, args: string[]): Promise<string> {
  const b = await bins();
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(b.root, 'bin', bin), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(b.runAs ?? {}),
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${bin} ${args.join(' ')} failed (${code}): ${out}`)),
    );
  });
}

async function newDir(name: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tableos-${name}-`));
  fs.chmodSync(dir, 0o755);
  const { runAs } = await bins();
  if (runAs) fs.chownSync(dir, runAs.uid, runAs.gid);
  return dir;
}

function server(name: string, dir: string, port: number): PgServer {
  const pgdata = path.join(dir, 'pgdata');
  const logFile = path.join(dir, 'server.log');
  const ctl = (...args: string[]) => run('pg_ctl', [...args, '-D', pgdata]);
  const s: PgServer = {
    name,
    dir,
    pgdata,
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      // After kill -9 the old server's backends may hold its shared memory for a moment;
      // postgres then refuses to start, and is asked again.
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          await ctl('start', '-w', '-t', '60', '-l', logFile, '-o', `-p ${port}`);
          return;
        } catch (err) {
          if (Date.now() > deadline || !/shared memory block/.test(tail(logFile))) throw err;
          await sleep(100);
        }
      }
    },
    async stop() {
      await ctl('stop', '-m', 'fast', '-w', '-t', '60');
    },
    async restart() {
      await ctl('restart', '-m', 'fast', '-w', '-t', '60', '-l', logFile, '-o', `-p ${port}`);
    },
    async kill() {
      const pid = s.postmasterPid();
      if (pid === undefined) throw new Error(`${name}: no postmaster.pid to kill`);
      process.kill(pid, 'SIGKILL');
      await until(() => !processAlive(pid), 10_000);
      return pid;
    },
    async promote() {
      await ctl('promote', '-w', '-t', '60');
    },
    postmasterPid: () => readPostmasterPid(pgdata)?.pid,
    configure(settings) {
      const lines = Object.entries(settings).map(
        ([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v}'`}`,
      );
      fs.appendFileSync(path.join(pgdata, 'postgresql.conf'), `\n${lines.join('\n')}\n`);
    },
  };
  made.push(s);
  return s;
}

/**
 * A fresh primary: trust auth on 127.0.0.1 (replication too), WAL for streaming standbys,
 * synchronous_commit on. Not started.
 */
export async function initPrimary(name = 'primary'): Promise<PgServer> {
  const dir = await newDir(name);
  const s = server(name, dir, await getPort({ host: '127.0.0.1' }));
  await run('initdb', [
    '-D',
    s.pgdata,
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--no-locale',
  ]);
  fs.writeFileSync(
    path.join(s.pgdata, 'pg_hba.conf'),
    ['host all all 127.0.0.1/32 trust', 'host replication all 127.0.0.1/32 trust', ''].join('\n'),
  );
  s.configure({
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: 200,
    wal_level: 'replica',
    max_wal_senders: 5,
    // The standby is made from a copy taken before it connects: keep the WAL it will ask for.
    wal_keep_size: '256MB',
    hot_standby: 'on',
    synchronous_commit: 'on',
    fsync: 'on',
  });
  return s;
}

/**
 * A streaming standby of primary, made from a cold copy of its data directory (a valid base
 * backup: the primary is stopped for the copy and started again). The primary is configured
 * to wait for this standby on every commit (synchronous_standby_names), so a commit the
 * primary acknowledged is on the standby's disk too. Both are started.
 */
export async function addSyncStandby(primary: PgServer, name = 'standby'): Promise<PgServer> {
  const appName = name.replace(/[^a-z0-9_]/gi, '_');
  primary.configure({ synchronous_standby_names: `FIRST 1 (${appName})` });
  if (primary.postmasterPid() !== undefined) await primary.stop();
  const dir = await newDir(name);
  const s = server(name, dir, await getPort({ host: '127.0.0.1' }));
  const { runAs } = await bins();
  const cp = spawnSync('cp', ['-a', primary.pgdata, s.pgdata], {
    ...(runAs ?? {}),
    encoding: 'utf8',
  });
  if (cp.status !== 0) throw new Error(`copying ${primary.pgdata}: ${cp.stderr}`);
  fs.rmSync(path.join(s.pgdata, 'postmaster.opts'), { force: true });
  fs.writeFileSync(path.join(s.pgdata, 'standby.signal'), '');
  if (runAs) fs.chownSync(path.join(s.pgdata, 'standby.signal'), runAs.uid, runAs.gid);
  s.configure({
    primary_conninfo: `host=127.0.0.1 port=${primary.port} user=postgres application_name=${appName}`,
    // Once promoted it has no standby of its own: waiting for one would stop every commit.
    synchronous_standby_names: '',
  });
  await primary.start();
  await s.start();
  return s;
}

/** A multi-host URL naming both servers, for the node to find whichever is the primary. */
export function failoverUrl(servers: PgServer[], database: string, attrs = 'read-write'): string {
  const hosts = servers.map((s) => `127.0.0.1:${s.port}`).join(',');
  return `postgres://postgres@${hosts}/${database}?target_session_attrs=${attrs}`;
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(20);
  }
}
