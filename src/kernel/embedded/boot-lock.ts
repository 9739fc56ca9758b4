// One process at a time decides whether to create, start, attach to or stop the server of
// a data directory; the lock is a file in that directory, taken over when stale.
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { EmbeddedPostgresError } from '../errors.js';

/** Waits for the data directory's boot lock; resolves to its release. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(dataDir, {
      lockfilePath: path.join(dataDir, 'boot.lock'),
      stale: 15_000,
      retries: { retries: 300, minTimeout: 50, maxTimeout: 250 },
    });
  } catch (cause) {
    throw new EmbeddedPostgresError(`another process holds ${dataDir}/boot.lock`, { cause });
  }
}
