// Postgres refuses to run as root. As root, TableOS runs it as a dedicated system user,
// created on first use, and makes sure that user can reach the binaries.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EmbeddedPostgresError } from '../errors.js';

export const SYSTEM_USER = 'tableos';
export const SYSTEM_HOME = '/var/lib/tableos';

export interface RunAs {
  uid: number;
  gid: number;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function ensureSystemUser(): RunAs {
  let ids = lookup();
  if (ids === undefined) {
    try {
      execFileSync(
        'useradd',
        [
          '--system',
          '--user-group',
          '--home-dir',
          SYSTEM_HOME,
          '--no-create-home',
          '--shell',
          '/usr/sbin/nologin',
          SYSTEM_USER,
        ],
        { stdio: 'pipe' },
      );
    } catch (cause) {
      // Another process may have created it at the same moment.
      if (lookup() === undefined) {
        throw new EmbeddedPostgresError(
          `running as root: could not create the system user '${SYSTEM_USER}' to run PostgreSQL (${String((cause as Error).message).trim()})`,
          { cause },
        );
      }
    }
    ids = lookup();
  }
  if (ids === undefined)
    throw new EmbeddedPostgresError(`system user '${SYSTEM_USER}' not found after creation`);
  return ids;
}

function lookup(): RunAs | undefined {
  const uid = spawnSync('id', ['-u', SYSTEM_USER], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', SYSTEM_USER], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Whether `as` passes `test -x` or `test -w` on file, which needs every directory above it too. */
export function canAccess(as: RunAs, file: string, test: '-x' | '-w'): boolean {
  const r = spawnSync('/bin/sh', ['-c', `test ${test} "$1"`, 'sh', file], {
    uid: as.uid,
    gid: as.gid,
  });
  return r.status === 0;
}

/** Binaries under a home the user cannot enter (e.g. /root) are copied to a shared place once. */
export function reachableBinaries(as: RunAs, root: string): string {
  if (canAccess(as, path.join(root, 'bin', 'postgres'), '-x')) return root;
  const version = crypto.createHash('sha1').update(root).digest('hex').slice(0, 12);
  const target = path.join(SYSTEM_HOME, 'runtime', version);
  if (!fs.existsSync(path.join(target, 'bin', 'postgres'))) {
    const tmp = `${target}.tmp-${process.pid}`;
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.chmodSync(SYSTEM_HOME, 0o755);
    fs.cpSync(root, tmp, { recursive: true, verbatimSymlinks: true });
    try {
      fs.renameSync(tmp, target);
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  return target;
}
