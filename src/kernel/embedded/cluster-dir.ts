// Where a new cluster's files go. As root the server runs as the system user, which must
// reach them: when the data directory lies where that user cannot go (a home, a private
// temporary directory), the cluster lives under /var/lib/tableos and pgdata links to it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SYSTEM_HOME, canAccess, type RunAs } from './system-user.js';

const CLUSTERS = path.join(SYSTEM_HOME, 'clusters');

/**
 * Makes an empty cluster directory for pgdata, owned by runAs when given, and returns its
 * real path. Only for before initdb: whatever is at pgdata then is a half-done attempt.
 */
export function freshClusterDir(dataDir: string, pgdata: string, runAs: RunAs | undefined): string {
  const real = runAs ? placeCluster(runAs, dataDir, pgdata) : linkTarget(pgdata);
  fs.rmSync(real, { recursive: true, force: true });
  fs.mkdirSync(real, { recursive: true, mode: 0o700 });
  if (runAs) fs.chownSync(real, runAs.uid, runAs.gid);
  return real;
}

function placeCluster(as: RunAs, dataDir: string, pgdata: string): string {
  if (isLink(pgdata)) {
    // Ours from an earlier attempt, or one the user made: it says where the cluster goes.
    const target = linkTarget(pgdata);
    if (target.startsWith(CLUSTERS + path.sep)) openClusters();
    return target;
  }
  // Checked as that user, so every directory above the data dir must let it pass too.
  if (canAccess(as, dataDir, '-x')) return pgdata;
  const id = crypto.createHash('sha1').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  const real = path.join(CLUSTERS, id);
  openClusters();
  // A directory here was made by an attempt that could never have worked.
  fs.rmSync(pgdata, { recursive: true, force: true });
  fs.symlinkSync(real, pgdata);
  return real;
}

/** The shared folder of moved clusters, passable by the system user. */
function openClusters(): void {
  fs.mkdirSync(CLUSTERS, { recursive: true, mode: 0o755 });
  fs.chmodSync(SYSTEM_HOME, 0o755);
  fs.chmodSync(CLUSTERS, 0o755);
}

/** What pgdata stands for: its real path, or where its link points if that is not made yet. */
function linkTarget(pgdata: string): string {
  if (fs.existsSync(pgdata)) return fs.realpathSync(pgdata);
  if (isLink(pgdata)) return path.resolve(path.dirname(pgdata), fs.readlinkSync(pgdata));
  return pgdata;
}

function isLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
