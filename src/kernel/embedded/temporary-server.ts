// A throwaway PostgreSQL for tests, benchmarks and tools: the server in DATABASE_URL when
// set, else a fresh embedded one in a temporary directory, removed again on close.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../logger.js';
import { EmbeddedCluster } from './cluster.js';

export interface TemporaryServer {
  /** URL of the server's main database, with credentials. */
  url: string;
  /** The same server, another database. */
  urlFor(database: string): string;
  close(): Promise<void>;
}

export async function temporaryServer(
  prefix: string,
  env: string | undefined = process.env.DATABASE_URL,
): Promise<TemporaryServer> {
  let cluster: EmbeddedCluster | undefined;
  let dir: string | undefined;
  let url = env;
  if (url === undefined) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    // As root the server runs as the tableos user, which must reach the directory.
    fs.chmodSync(dir, 0o755);
    cluster = new EmbeddedCluster(dir, silentLogger);
    const c = await cluster.ensureRunning();
    url = `postgres://${c.user}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${c.database}`;
  }
  const base = url;
  return {
    url: base,
    urlFor(database: string) {
      const u = new URL(base);
      u.pathname = `/${database}`;
      return u.toString();
    },
    async close() {
      await cluster?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
