// A PostgreSQL for a benchmark run: DATABASE_URL's server, or a fresh embedded one, with a new
// database created for the run. The peer and TableOS run against the same server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { EmbeddedCluster } from '../../src/kernel/embedded/cluster.js';
import { silentLogger } from '../../src/kernel/logger.js';

export interface BenchDatabase {
  /** URL of a fresh, empty database for this run. */
  url: string;
  /** Makes one more fresh database on the same server (e.g. one for the peer). */
  create(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function benchDatabase(): Promise<BenchDatabase> {
  let cluster: EmbeddedCluster | undefined;
  let dir: string | undefined;
  let base = process.env.DATABASE_URL;
  if (base === undefined) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-bench-'));
    fs.chmodSync(dir, 0o755);
    cluster = new EmbeddedCluster(dir, silentLogger);
    const c = await cluster.ensureRunning();
    base = `postgres://${c.user}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${c.database}`;
  }
  const admin = postgres(base, { max: 1, onnotice: () => undefined });
  const made: string[] = [];
  const create = async (name: string) => {
    const db = `bench_${name}_${process.pid}`;
    await admin.unsafe(`drop database if exists ${db} with (force)`);
    await admin.unsafe(`create database ${db} template template0`);
    made.push(db);
    const u = new URL(base);
    u.pathname = `/${db}`;
    return u.toString();
  };
  const url = await create('tableos');
  const [sc] = await admin<{ s: string }[]>`select current_setting('synchronous_commit') as s`;
  if (sc?.s !== 'on')
    throw new Error(`synchronous_commit is ${sc?.s}; benchmarks claim durability and need it on`);
  return {
    url,
    create,
    async close() {
      for (const db of made)
        await admin.unsafe(`drop database if exists ${db} with (force)`).catch(() => undefined);
      await admin.end();
      await cluster?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
