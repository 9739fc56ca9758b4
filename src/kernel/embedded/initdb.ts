// Creating the cluster on first start: initdb, the node's settings and its database, then
// cluster.json, whose presence says all of that finished.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EmbeddedPostgresError } from '../errors.js';
import type { Logger } from '../logger.js';
import { freshClusterDir } from './cluster-dir.js';
import type { RunAs } from './system-user.js';

/** cluster.json: the credentials of a finished cluster. */
export interface ClusterFile {
  user: string;
  password: string;
  database: string;
  version: string;
}

export interface ClusterPaths {
  dataDir: string;
  pgdata: string;
  /** The binaries' root: bin/, lib/, share/. */
  root: string;
}

/** Reads cluster.json of a finished cluster, or creates the cluster from scratch. */
export async function ensureInitialised(
  { dataDir, pgdata, root }: ClusterPaths,
  runAs: RunAs | undefined,
  log: Logger,
): Promise<ClusterFile> {
  const clusterFile = path.join(dataDir, 'cluster.json');
  if (fs.existsSync(clusterFile) && fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    return JSON.parse(fs.readFileSync(clusterFile, 'utf8')) as ClusterFile;
  }
  // No record of a finished initdb: whatever is in pgdata is a half-done attempt.
  const real = freshClusterDir(dataDir, pgdata, runAs);

  const cluster: ClusterFile = {
    user: 'tableos',
    password: crypto.randomBytes(18).toString('base64url'),
    database: 'tableos',
    version: '',
  };
  // Beside the cluster directory, not in the data dir: initdb runs as the system user,
  // which reaches the cluster directory's parent even when it cannot enter the data dir.
  const pwfile = `${real}.pw-${process.pid}`;
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
  await createDatabase(root, real, cluster, runAs);
  fs.writeFileSync(clusterFile, JSON.stringify(cluster, null, 2), { mode: 0o600 });
  log.info({ dataDir, version: cluster.version }, 'embedded postgres initialised');
  return cluster;
}

/** initdb only makes `postgres`; the node's own database is made in single-user mode. */
async function createDatabase(
  root: string,
  pgdata: string,
  c: ClusterFile,
  runAs: RunAs | undefined,
): Promise<void> {
  await run(
    path.join(root, 'bin', 'postgres'),
    ['--single', '-D', pgdata, '-j', 'postgres'],
    runAs,
    `CREATE DATABASE ${c.database};\n`,
  );
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
