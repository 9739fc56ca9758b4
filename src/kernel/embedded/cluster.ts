// The embedded PostgreSQL of a TableOS node: created on first start under the data
// directory, shared by every process that uses the same directory, and stopped when the
// last of them closes (each registers under clients/, pruned of dead pids).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import getPort from 'get-port';
import lockfile from 'proper-lockfile';
import { DataDirError, EmbeddedPostgresError, PortInUseError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { findBinaries } from './binaries.js';
import { isPostmasterOf, processAlive, readPostmasterPid } from './pid-file.js';
import {
  ensureSystemUser,
  isRoot,
  prepareClusterDir,
  reachableBinaries,
  type RunAs,
} from './system-user.js';

export interface ClusterInfo {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** True when this process started the server (rather than attaching to a running one). */
  startedHere: boolean;
  pid: number;
}

interface ClusterFile {
  user: string;
  password: string;
  database: string;
  version: string;
}

const START_TIMEOUT_MS = 60_000;

export class EmbeddedCluster {
  readonly pgdata: string;
  private readonly clusterFile: string;
  private readonly logFile: string;
  private info: ClusterInfo | undefined;

  constructor(
    readonly dataDir: string,
    private readonly log: Logger,
    private readonly wantedPort?: number,
  ) {
    this.pgdata = path.join(dataDir, 'pgdata');
    this.clusterFile = path.join(dataDir, 'cluster.json');
    this.logFile = path.join(dataDir, 'postgres.log');
    this.clientsDir = path.join(dataDir, 'clients');
  }

  private readonly clientsDir: string;

  /** Starts the server, or attaches to the one already running on this data directory. */
  async ensureRunning(): Promise<ClusterInfo> {
    this.prepareDataDir();
    const release = await this.lock();
    try {
      const runAs = isRoot() ? ensureSystemUser() : undefined;
      const bins = await findBinaries();
      const root = runAs ? reachableBinaries(runAs, bins.root) : bins.root;
      const cluster = await this.ensureInitialised(root, runAs);
      this.addClient();
      const running = readPostmasterPid(this.pgdata);
      if (running !== undefined && isPostmasterOf(running.pid, this.pgdata)) {
        await this.waitReady(running.pid);
        this.log.debug(
          { pid: running.pid, port: running.port },
          'attached to running embedded postgres',
        );
        this.info = { ...this.conn(cluster, running.port), startedHere: false, pid: running.pid };
        return this.info;
      }
      if (running !== undefined) {
        // Left behind by a killed server: the pid is gone or now belongs to another program.
        this.log.warn({ pid: running.pid }, 'removing stale postmaster.pid');
        fs.rmSync(path.join(this.pgdata, 'postmaster.pid'), { force: true });
      }
      let pid: number;
      let port: number;
      try {
        port = await this.choosePort();
        pid = await this.spawnServer(root, port, runAs);
      } catch (err) {
        this.removeClient();
        throw err;
      }
      this.info = { ...this.conn(cluster, port), startedHere: true, pid };
      this.log.info({ port, pid, dataDir: this.dataDir }, 'embedded postgres started');
      return this.info;
    } finally {
      await release();
    }
  }

  /** Leaves the server; the last process to leave stops it (fast shutdown) and waits for it to exit. */
  async stop(): Promise<void> {
    const info = this.info;
    this.info = undefined;
    if (info === undefined) return;
    const release = await this.lock();
    try {
      this.removeClient();
      if (this.liveClients().length > 0) return;
      await stopServer(info.pid);
      this.log.info({ pid: info.pid }, 'embedded postgres stopped');
    } finally {
      await release();
    }
  }

  private addClient(): void {
    fs.mkdirSync(this.clientsDir, { recursive: true });
    fs.writeFileSync(path.join(this.clientsDir, String(process.pid)), '');
  }

  private removeClient(): void {
    fs.rmSync(path.join(this.clientsDir, String(process.pid)), { force: true });
  }

  /** Pids of processes still using the server; files of dead ones are removed. */
  private liveClients(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.clientsDir);
    } catch {
      return [];
    }
    return names.map(Number).filter((pid) => {
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return true;
      fs.rmSync(path.join(this.clientsDir, String(pid)), { force: true });
      return false;
    });
  }

  private conn(c: ClusterFile, port: number) {
    return { host: '127.0.0.1', port, user: c.user, password: c.password, database: c.database };
  }

  private prepareDataDir(): void {
    try {
      fs.mkdirSync(this.dataDir, { recursive: true });
      fs.accessSync(this.dataDir, fs.constants.W_OK | fs.constants.X_OK);
      const probe = path.join(this.dataDir, `.probe-${process.pid}`);
      fs.writeFileSync(probe, '');
      fs.rmSync(probe);
    } catch (cause) {
      throw new DataDirError(
        this.dataDir,
        `${errorMessage(cause)}; set TABLEOS_DATA_DIR to a writable directory`,
        { cause },
      );
    }
  }

  private async lock(): Promise<() => Promise<void>> {
    try {
      return await lockfile.lock(this.dataDir, {
        lockfilePath: path.join(this.dataDir, 'boot.lock'),
        stale: 15_000,
        retries: { retries: 300, minTimeout: 50, maxTimeout: 250 },
      });
    } catch (cause) {
      throw new EmbeddedPostgresError(`another process holds ${this.dataDir}/boot.lock`, { cause });
    }
  }

  private async ensureInitialised(root: string, runAs: RunAs | undefined): Promise<ClusterFile> {
    if (fs.existsSync(this.clusterFile) && fs.existsSync(path.join(this.pgdata, 'PG_VERSION'))) {
      return JSON.parse(fs.readFileSync(this.clusterFile, 'utf8')) as ClusterFile;
    }
    // No record of a finished initdb: whatever is in pgdata is a half-done attempt.
    if (runAs) prepareClusterDir(runAs, this.dataDir, this.pgdata);
    const real = fs.existsSync(this.pgdata) ? fs.realpathSync(this.pgdata) : this.pgdata;
    fs.rmSync(real, { recursive: true, force: true });
    fs.mkdirSync(real, { recursive: true, mode: 0o700 });
    if (runAs) fs.chownSync(real, runAs.uid, runAs.gid);

    const cluster: ClusterFile = {
      user: 'tableos',
      password: crypto.randomBytes(18).toString('base64url'),
      database: 'tableos',
      version: '',
    };
    const pwfile = path.join(this.dataDir, `.pw-${process.pid}`);
    fs.writeFileSync(pwfile, `${cluster.password}\n`, { mode: 0o600 });
    if (runAs) fs.chownSync(pwfile, runAs.uid, runAs.gid);
    try {
      await run(
        path.join(root, 'bin', 'initdb'),
        [
          '-D',
          real,
          '-U',
          cluster.user,
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--no-locale',
        ],
        runAs,
      );
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
    fs.appendFileSync(
      path.join(real, 'postgresql.conf'),
      [
        '',
        '# TableOS embedded node',
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = ''",
        'max_connections = 300',
        'synchronous_commit = on',
        // Group commit in the WAL: with at least commit_siblings (5) other transactions
        // active, a committing backend waits up to 200 us so that one flush carries several
        // commits. Every commit is still flushed before it returns.
        'commit_delay = 200',
        'fsync = on',
        '',
      ].join('\n'),
    );
    cluster.version = fs.readFileSync(path.join(real, 'PG_VERSION'), 'utf8').trim();
    // Written last: its presence means the cluster is complete and its database exists.
    await this.createDatabase(root, real, cluster, runAs);
    fs.writeFileSync(this.clusterFile, JSON.stringify(cluster, null, 2), { mode: 0o600 });
    this.log.info(
      { dataDir: this.dataDir, version: cluster.version },
      'embedded postgres initialised',
    );
    return cluster;
  }

  /** initdb only makes `postgres`; the node's own database is made in single-user mode. */
  private async createDatabase(
    root: string,
    pgdata: string,
    c: ClusterFile,
    runAs: RunAs | undefined,
  ) {
    await run(
      path.join(root, 'bin', 'postgres'),
      ['--single', '-D', pgdata, '-j', 'postgres'],
      runAs,
      `CREATE DATABASE ${c.database};\n`,
    );
  }

  private async choosePort(): Promise<number> {
    if (this.wantedPort === undefined) return getPort({ host: '127.0.0.1' });
    if (!(await portFree(this.wantedPort))) throw new PortInUseError(this.wantedPort);
    return this.wantedPort;
  }

  private async spawnServer(root: string, port: number, runAs: RunAs | undefined): Promise<number> {
    const out = fs.openSync(this.logFile, 'a');
    const pgdata = fs.realpathSync(this.pgdata);
    const child = spawn(path.join(root, 'bin', 'postgres'), ['-D', pgdata, '-p', String(port)], {
      // Own process group: a terminal's Ctrl-C reaches the node, which then stops the server in order.
      detached: true,
      stdio: ['ignore', out, out],
      ...(runAs ?? {}),
    });
    fs.closeSync(out);
    let exited: number | null | undefined;
    child.on('exit', (code) => (exited = code));
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new EmbeddedPostgresError('could not spawn postgres');
    const deadline = Date.now() + START_TIMEOUT_MS;
    const logStart = fs.statSync(this.logFile).size;
    while (Date.now() < deadline) {
      if (exited !== undefined) {
        const tail = readFrom(this.logFile, logStart);
        if (/could not bind|Address already in use/i.test(tail)) throw new PortInUseError(port);
        throw new EmbeddedPostgresError(
          `postgres exited during start (code ${exited}): ${tail.trim().slice(-800)}`,
        );
      }
      const pm = readPostmasterPid(this.pgdata);
      if (pm?.pid === pid && pm.status === 'ready') return pid;
      await sleep(25);
    }
    await stopServer(pid);
    throw new EmbeddedPostgresError(
      `postgres did not become ready within ${START_TIMEOUT_MS / 1000}s; see ${this.logFile}`,
    );
  }

  private async waitReady(pid: number): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (readPostmasterPid(this.pgdata)?.status === 'ready') return;
      if (!processAlive(pid))
        throw new EmbeddedPostgresError('embedded postgres exited while starting');
      await sleep(25);
    }
    throw new EmbeddedPostgresError(`embedded postgres (pid ${pid}) did not become ready`);
  }
}

async function stopServer(pid: number): Promise<void> {
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

function run(bin: string, args: string[], runAs: RunAs | undefined, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(runAs ?? {}) });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (cause) => reject(new EmbeddedPostgresError(`cannot run ${bin}`, { cause })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new EmbeddedPostgresError(
            `${path.basename(bin)} failed (code ${code}): ${output.trim().slice(-1500)}`,
          ),
        );
    });
    child.stdin.end(input ?? '');
  });
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
