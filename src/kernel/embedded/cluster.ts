// The embedded PostgreSQL of a TableOS node: created on first start under the data
// directory, shared by every process that uses the same directory, and stopped when the
// last of them closes.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { findBinaries } from './binaries.js';
import { lockDataDir } from './boot-lock.js';
import { ClientRegistry } from './client-registry.js';
import { prepareDataDir } from './data-dir.js';
import { ensureInitialised, type ClusterFile } from './initdb.js';
import { isPostmasterOf, readPostmasterPid } from './pid-file.js';
import { choosePort, spawnServer, stopServer, waitReady } from './server-process.js';
import { ensureSystemUser, isRoot, reachableBinaries } from './system-user.js';

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

export class EmbeddedCluster {
  readonly pgdata: string;
  private readonly logFile: string;
  private readonly clients: ClientRegistry;
  private info: ClusterInfo | undefined;

  constructor(
    readonly dataDir: string,
    private readonly log: Logger,
    private readonly wantedPort?: number,
  ) {
    this.pgdata = path.join(dataDir, 'pgdata');
    this.logFile = path.join(dataDir, 'postgres.log');
    this.clients = new ClientRegistry(dataDir);
  }

  /** Starts the server, or attaches to the one already running on this data directory. */
  async ensureRunning(): Promise<ClusterInfo> {
    prepareDataDir(this.dataDir);
    const release = await lockDataDir(this.dataDir);
    try {
      const runAs = isRoot() ? ensureSystemUser() : undefined;
      const bins = await findBinaries();
      const root = runAs ? reachableBinaries(runAs, bins.root) : bins.root;
      const cluster = await ensureInitialised(
        { dataDir: this.dataDir, pgdata: this.pgdata, root },
        runAs,
        this.log,
      );
      this.clients.add();
      const running = readPostmasterPid(this.pgdata);
      if (running !== undefined && isPostmasterOf(running.pid, this.pgdata)) {
        await waitReady(this.pgdata, running.pid);
        this.log.debug(
          { pid: running.pid, port: running.port },
          'attached to running embedded postgres',
        );
        this.info = { ...conn(cluster, running.port), startedHere: false, pid: running.pid };
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
        port = await choosePort(this.wantedPort);
        pid = await spawnServer(root, this.pgdata, this.logFile, port, runAs);
      } catch (err) {
        this.clients.remove();
        throw err;
      }
      this.info = { ...conn(cluster, port), startedHere: true, pid };
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
    const release = await lockDataDir(this.dataDir);
    try {
      this.clients.remove();
      if (this.clients.live().length > 0) return;
      await stopServer(info.pid);
      this.log.info({ pid: info.pid }, 'embedded postgres stopped');
    } finally {
      await release();
    }
  }
}

function conn(c: ClusterFile, port: number) {
  return { host: '127.0.0.1', port, user: c.user, password: c.password, database: c.database };
}
