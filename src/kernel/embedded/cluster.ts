// The embedded PostgreSQL of a TableOS node: created on first start under the data
// directory, shared by every process that uses the same directory, started again by them
// when it dies, and stopped when the last of them closes.
import path from 'node:path';
import { EmbeddedPostgresError } from '../errors.js';
import type { Logger } from '../logger.js';
import { findBinaries } from './binaries.js';
import { lockDataDir } from './boot-lock.js';
import { ClientRegistry } from './client-registry.js';
import { prepareDataDir } from './data-dir.js';
import { ensureInitialised, type ClusterFile } from './initdb.js';
import { isPostmasterOf, readPostmasterPid, readyStalePidFile } from './pid-file.js';
import { choosePort, startServer, stopServer, waitReady } from './server-process.js';
import { Supervisor, type Restarted } from './supervisor.js';
import { ensureSystemUser, isRoot, reachableBinaries, type RunAs } from './system-user.js';

export interface ClusterInfo {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** True when this process started the server (rather than attaching to a running one). */
  startedHere: boolean;
  /** The postmaster's pid; it changes when the server is started again. */
  pid: number;
}

/** What starting the server again needs. */
interface Binaries {
  root: string;
  runAs: RunAs | undefined;
}

export class EmbeddedCluster {
  readonly pgdata: string;
  private readonly logFile: string;
  private readonly clients: ClientRegistry;
  private info: ClusterInfo | undefined;
  private supervisor: Supervisor | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly dataDir: string,
    private readonly log: Logger,
    private readonly wantedPort?: number,
  ) {
    this.pgdata = path.join(dataDir, 'pgdata');
    this.logFile = path.join(dataDir, 'postgres.log');
    this.clients = new ClientRegistry(dataDir);
  }

  /** The server as it is now (its pid changes after a restart); undefined once stopped. */
  get current(): ClusterInfo | undefined {
    return this.info;
  }

  /**
   * Starts the server, or attaches to the one already running on this data directory, and
   * keeps it running (see supervisor.ts) until stop().
   */
  async ensureRunning(): Promise<ClusterInfo> {
    prepareDataDir(this.dataDir);
    const release = await lockDataDir(this.dataDir);
    let bins: Binaries;
    let cluster: ClusterFile;
    let server: Restarted & { port: number };
    try {
      const runAs = isRoot() ? ensureSystemUser() : undefined;
      const found = await findBinaries();
      bins = { root: runAs ? reachableBinaries(runAs, found.root) : found.root, runAs };
      cluster = await ensureInitialised(
        { dataDir: this.dataDir, pgdata: this.pgdata, root: bins.root },
        runAs,
        this.log,
      );
      this.clients.add();
      try {
        server = await this.startOrAttach(bins, this.wantedPort);
      } catch (err) {
        this.clients.remove();
        throw err;
      }
    } finally {
      await release();
    }
    const info: ClusterInfo = {
      ...conn(cluster, server.port),
      startedHere: server.startedHere,
      pid: server.pid,
    };
    this.info = info;
    this.supervisor = new Supervisor({
      pgdata: this.pgdata,
      log: this.log,
      restart: () => this.restart(bins, info),
    });
    this.supervisor.watch(server);
    return info;
  }

  /** Leaves the server; the last process to leave stops it (fast shutdown) and waits for it to exit. */
  stop(): Promise<void> {
    this.stopping ??= this.leave();
    return this.stopping;
  }

  private async leave(): Promise<void> {
    // First, so that the exit this causes is not taken for a crash.
    await this.supervisor?.stop();
    const info = this.info;
    this.info = undefined;
    if (info === undefined) return;
    const release = await lockDataDir(this.dataDir);
    try {
      this.clients.remove();
      if (this.clients.live().length > 0) return;
      await stopServer(info.pid);
      this.log.info({ postmaster: info.pid }, 'embedded postgres stopped');
    } finally {
      await release();
    }
  }

  /** After the server died: starts it again on the same port, or attaches to a new one. */
  private async restart(bins: Binaries, info: ClusterInfo): Promise<Restarted> {
    const release = await lockDataDir(this.dataDir);
    try {
      const server = await this.startOrAttach(bins, info.port);
      if (server.port !== info.port) {
        throw new EmbeddedPostgresError(
          `the embedded server was started again on port ${server.port}, but this process connects to port ${info.port}; stop it and let TableOS start it`,
        );
      }
      info.pid = server.pid;
      info.startedHere = server.startedHere;
      return server;
    } finally {
      await release();
    }
  }

  /** Under the boot lock: attaches to a running server, or starts one. */
  private async startOrAttach(
    { root, runAs }: Binaries,
    port: number | undefined,
  ): Promise<Restarted & { port: number }> {
    const running = readPostmasterPid(this.pgdata);
    if (running !== undefined && isPostmasterOf(running.pid, this.pgdata)) {
      await waitReady(this.pgdata, running.pid);
      this.log.debug(
        { postmaster: running.pid, port: running.port },
        'attached to running embedded postgres',
      );
      return { pid: running.pid, port: running.port, startedHere: false };
    }
    if (running !== undefined) {
      // Left behind by a killed server: the pid is gone or now belongs to another program.
      const done = readyStalePidFile(this.pgdata, running);
      this.log.warn({ postmaster: running.pid, pidFile: done }, 'stale postmaster.pid');
    }
    const chosen = await choosePort(port);
    const server = await startServer(root, this.pgdata, this.logFile, chosen, runAs);
    this.log.info(
      { port: chosen, postmaster: server.pid, dataDir: this.dataDir },
      'embedded postgres started',
    );
    return { ...server, port: chosen, startedHere: true };
  }
}

function conn(c: ClusterFile, port: number) {
  return { host: '127.0.0.1', port, user: c.user, password: c.password, database: c.database };
}
