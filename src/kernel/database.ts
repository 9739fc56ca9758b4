// Connects to the node's PostgreSQL: the one named by DATABASE_URL / PG* variables, or the embedded one.
import postgres from 'postgres';
import { pgEnvNamesServer, type Config } from './config.js';
import { EmbeddedCluster } from './embedded/cluster.js';
import {
  DatabaseUnreachableError,
  PostgresVersionError,
  TableOSError,
  errorMessage,
} from './errors.js';
import type { Logger } from './logger.js';
import { pgCode } from './pg-codes.js';
import { isConnectionLoss } from './reconnect.js';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

export interface Database {
  sql: Sql;
  host: string;
  port: number;
  database: string;
  /** 'embedded' when TableOS runs the server itself. */
  kind: 'embedded' | 'external';
  serverVersion: string;
  embedded: EmbeddedCluster | undefined;
  /** Opens another pool on the same server (e.g. for a dedicated LISTEN connection). */
  newPool(extra?: postgres.Options<Record<string, postgres.PostgresType>>): Sql;
  close(): Promise<void>;
}

export const MIN_SERVER_VERSION = 150000;

export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  let embedded: EmbeddedCluster | undefined;
  let options: postgres.Options<Record<string, postgres.PostgresType>>;
  let url: string | undefined;
  if (config.databaseUrl !== undefined) {
    url = config.databaseUrl;
    options = {};
  } else if (pgEnvNamesServer()) {
    options = {};
  } else {
    embedded = new EmbeddedCluster(config.dataDir, log, config.port);
    const info = await embedded.ensureRunning();
    options = {
      host: info.host,
      port: info.port,
      user: info.user,
      password: info.password,
      database: info.database,
    };
  }
  options = {
    ...options,
    max: config.poolSize,
    connect_timeout: config.connectTimeoutS,
    idle_timeout: 0,
    onnotice: (n) => log.debug({ notice: n.message }, 'postgres notice'),
    connection: { application_name: 'tableos' },
  };
  const sql = url === undefined ? postgres(options) : postgres(url, options);
  const target = describeTarget(sql);
  let serverVersion: string;
  try {
    serverVersion = await probe(sql, config.connectTimeoutS * 1000, target);
  } catch (err) {
    await sql.end({ timeout: 0 }).catch(() => undefined);
    if (embedded) await embedded.stop();
    throw err;
  }
  return {
    sql,
    ...target,
    kind: embedded ? 'embedded' : 'external',
    serverVersion,
    embedded,
    newPool: (extra = {}) =>
      url === undefined
        ? postgres({ ...options, ...extra })
        : postgres(url, { ...options, ...extra }),
    async close() {
      await sql.end({ timeout: 5 });
      if (embedded) await embedded.stop();
    },
  };
}

function describeTarget(sql: Sql): { host: string; port: number; database: string } {
  const o = sql.options as unknown as { host: string[]; port: number[]; database: string };
  return { host: o.host[0] ?? 'localhost', port: o.port[0] ?? 5432, database: o.database };
}

/** First query; a dead or missing server is reported within the connect timeout, naming host and port. */
async function probe(
  sql: Sql,
  timeoutMs: number,
  t: { host: string; port: number },
): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DatabaseUnreachableError(t.host, t.port, `no answer within ${timeoutMs / 1000}s`),
        ),
      timeoutMs,
    );
  });
  let timedOut = false;
  void timeout.catch(() => (timedOut = true));
  // A connection lost while opening (a terminated backend, a server restarting) is tried
  // again within the timeout; a refused or unknown host is reported at once.
  const ask = async (): Promise<{ v: string; s: string }[]> => {
    for (;;) {
      try {
        return await sql<
          { v: string; s: string }[]
        >`select current_setting('server_version_num') as v, current_setting('server_version') as s`;
      } catch (err) {
        const code = pgCode(err);
        if (timedOut || !isConnectionLoss(err) || code === 'ECONNREFUSED') throw err;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  try {
    const rows = await Promise.race([ask(), timeout]);
    const row = rows[0];
    if (row === undefined)
      throw new DatabaseUnreachableError(t.host, t.port, 'empty version answer');
    if (Number(row.v) < MIN_SERVER_VERSION) throw new PostgresVersionError(row.s);
    return row.s;
  } catch (err) {
    if (err instanceof TableOSError) throw err;
    const code = (err as { code?: string }).code;
    const detail =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND'
          ? 'host not found'
          : code === 'CONNECT_TIMEOUT'
            ? `no answer within ${timeoutMs / 1000}s`
            : errorMessage(err);
    throw new DatabaseUnreachableError(t.host, t.port, detail, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
