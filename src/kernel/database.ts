// Connects to the node's PostgreSQL: the one named by DATABASE_URL / PG* variables, or the embedded one.
import net from 'node:net';
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
import { PG, pgCode } from './pg-codes.js';
import { isConnectionLoss } from './reconnect.js';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

export interface Database {
  sql: Sql;
  /** The first server named; see hosts for all of them. */
  host: string;
  port: number;
  /** Every server named, as host:port (several with a multi-host URL, the first usable one is used). */
  hosts: string[];
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
  let options: PoolOptions;
  let url: string | undefined;
  if (config.databaseUrl !== undefined) {
    ({ url, options } = unixSocketOptions(config.databaseUrl));
    const writable = writableServerOptions(url, config.connectTimeoutS);
    if (writable !== undefined) {
      url = undefined;
      options = writable;
    }
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
    connection: { ...options.connection, application_name: 'tableos' },
    // The driver's own backoff between reconnects grows to 20 s after a few failures in a
    // row (a restart, a failover); the callers' retries pace themselves, so keep it short.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
  };
  const sql = url === undefined ? postgres(options) : postgres(url, options);
  const target = describeTarget(sql);
  let serverVersion: string;
  try {
    serverVersion = await probe(sql, config.connectTimeoutS * 1000, unreachableAt(target));
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

interface Target {
  host: string;
  port: number;
  hosts: string[];
  database: string;
}

function describeTarget(sql: Sql): Target {
  const o = sql.options as unknown as {
    host: string[];
    port: number[];
    database: string;
    socket?: { hosts?: HostPort[] };
  };
  const list = o.socket?.hosts ?? o.host.map((host, i) => ({ host, port: o.port[i] ?? 5432 }));
  return {
    host: list[0]?.host ?? 'localhost',
    port: list[0]?.port ?? 5432,
    hosts: list.map((h) => `${h.host}:${h.port}`),
    database: o.database,
  };
}

/** Where DatabaseUnreachableError says it looked (its message reads host:port): every server. */
function unreachableAt(t: Target): { host: string; port: number } {
  if (t.hosts.length < 2) return t;
  const all = t.hosts.join(',');
  const cut = all.lastIndexOf(':');
  return { host: all.slice(0, cut), port: Number(all.slice(cut + 1)) };
}

interface HostPort {
  host: string;
  port: number;
}

/**
 * libpq's `?host=/dir` (a server on a Unix-domain socket in that directory, as in
 * `postgres:///app?host=/var/run/postgresql`): the driver takes it as a socket path, and
 * the parameter leaves the URL (the server would read it as a setting).
 */
function unixSocketOptions(url: string): { url: string; options: PoolOptions } {
  const at = url.indexOf('?');
  const query = new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
  const dir = query.get('host');
  if (dir === null || !dir.startsWith('/')) return { url, options: {} };
  // The driver's URL parse needs a host name; the socket path replaces it.
  const base = url.slice(0, at).replace(/^(\w+:\/\/(?:[^@/]*@)?)(?=\/|$)/, '$1localhost');
  const port = Number(
    query.get('port') ?? ((URL.canParse(base) ? new URL(base).port : '') || 5432),
  );
  query.delete('host');
  query.delete('port');
  const rest = query.toString();
  return {
    url: rest === '' ? base : `${base}?${rest}`,
    options: { host: dir, port, path: `${dir.replace(/\/+$/, '')}/.s.PGSQL.${port}` },
  };
}

/** The pool's options; `socket` (a factory of connected sockets) is in the driver but not its types. */
type PoolOptions = postgres.Options<Record<string, postgres.PostgresType>> & {
  socket?: () => Promise<net.Socket>;
};

/** What a connection made for a multi-host URL asks of its server (libpq's meaning). */
const WRITABLE_CHECKS = {
  'read-write': `select current_setting('transaction_read_only') = 'off' as ok`,
  primary: `select not pg_is_in_recovery() as ok`,
} as const;

/**
 * For a URL naming several servers with target_session_attrs=read-write (or primary), the
 * pool options that make TableOS pick the server itself. postgres.js 3.4.9 judges read-write
 * by default_transaction_read_only alone, which a PostgreSQL 14+ hot standby reports as off,
 * so it would connect to a standby, where every write fails (25006); and while no server
 * qualifies its connection attempts go round the hosts without end. Instead each new
 * connection tries the servers in order (the last good one first), asks each that answers
 * whether it qualifies, and hands the driver a socket to the first that does. When none
 * does, the attempt fails like a server that is starting up (57P03), which callers retry
 * until their reconnect deadline. Undefined for any other URL.
 */
function writableServerOptions(url: string, connectTimeoutS: number): PoolOptions | undefined {
  // The driver's own parse of the URL (no connection is made for it).
  const parsed = postgres(url).options as unknown as {
    host: string[];
    port: number[];
    user: string;
    pass: string | null;
    database: string;
    ssl: PoolOptions['ssl'];
    target_session_attrs: string | null;
    connection: Record<string, string>;
  };
  const attrs = parsed.target_session_attrs;
  if (parsed.host.length < 2 || (attrs !== 'read-write' && attrs !== 'primary')) return undefined;
  const hosts = parsed.host.map((host, i) => ({ host, port: parsed.port[i] ?? 5432 }));
  const creds: PoolOptions = {
    user: parsed.user,
    ...(parsed.pass ? { pass: parsed.pass } : {}),
    ...(parsed.ssl !== undefined ? { ssl: parsed.ssl } : {}),
    database: parsed.database,
  };
  const { target_session_attrs: _drop, ...connection } = parsed.connection;
  let next = 0;
  const socket = async () => {
    const failures: string[] = [];
    for (let i = 0; i < hosts.length; i++) {
      const k = (next + i) % hosts.length;
      const h = hosts[k]!;
      try {
        if (await qualifies(h, creds, WRITABLE_CHECKS[attrs], connectTimeoutS)) {
          next = k;
          return await connectTcp(h, connectTimeoutS);
        }
        failures.push(`${h.host}:${h.port} is read-only (a standby)`);
      } catch (err) {
        failures.push(`${h.host}:${h.port}: ${errorMessage(err)}`);
      }
    }
    return failedSocket(
      Object.assign(
        new Error(
          `no server accepts writes (target_session_attrs=${attrs}): ${failures.join('; ')}`,
        ),
        { code: PG.cannotConnectNow },
      ),
    );
  };
  // Read back by describeTarget.
  socket.hosts = hosts;
  return { ...creds, host: hosts[0]!.host, port: hosts[0]!.port, connection, socket };
}

/** Asks one server whether it is what the URL asks for, on a connection of its own. */
async function qualifies(
  h: HostPort,
  creds: PoolOptions,
  check: string,
  timeoutS: number,
): Promise<boolean> {
  const probe = postgres({
    ...creds,
    host: h.host,
    port: h.port,
    max: 1,
    connect_timeout: timeoutS,
    fetch_types: false,
    onnotice: () => undefined,
    connection: { application_name: 'tableos-probe' },
  });
  try {
    const [row] = await probe.unsafe<{ ok: boolean }[]>(check);
    return row?.ok === true;
  } finally {
    await probe.end({ timeout: 0 });
  }
}

function connectTcp(h: HostPort, timeoutS: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: h.host, port: h.port, timeout: timeoutS * 1000 });
    const fail = (err: Error) => {
      s.destroy();
      reject(err);
    };
    s.once('error', fail);
    s.once('timeout', () =>
      fail(Object.assign(new Error('connect timeout'), { code: 'CONNECT_TIMEOUT' })),
    );
    s.once('connect', () => {
      s.removeAllListeners('error').removeAllListeners('timeout').setTimeout(0);
      // The driver names the server in its errors from these.
      resolve(Object.assign(s, { host: h.host, port: h.port }));
    });
  });
}

/**
 * A socket that fails with err as soon as the driver has taken it: the driver then rejects
 * the waiting query with err and returns the connection to its pool, which a factory that
 * threw would not do.
 */
function failedSocket(err: Error): net.Socket {
  const s = new net.Socket();
  process.nextTick(() => s.destroy(err));
  return s;
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
