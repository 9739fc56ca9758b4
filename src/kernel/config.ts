// One typed configuration object: explicit options over environment over defaults, validated at start.
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';

const positiveInt = z.coerce.number().int().positive();

const schema = z
  .object({
    /** Postgres connection string; when absent and no PG* variables are set, an embedded Postgres is started. */
    databaseUrl: z.string().min(1).optional(),
    /** Where the embedded Postgres keeps its data. */
    dataDir: z.string().min(1),
    /** Port for the embedded Postgres; a free one is picked when unset. */
    port: z.coerce.number().int().min(1).max(65535).optional(),
    /** Connections in the pool. */
    poolSize: positiveInt.max(1000),
    /** Seconds to wait for a connection before reporting the database unreachable. */
    connectTimeoutS: positiveInt.max(600),
    /** How often an executor renews its lease. */
    heartbeatMs: positiveInt,
    /** How long a lease lasts without a heartbeat before the executor counts as dead. */
    leaseMs: positiveInt,
    /** How long an operation keeps retrying after losing its database connection (0: never). */
    reconnectDeadlineMs: z.coerce.number().int().nonnegative().max(86_400_000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  })
  .refine((c) => c.leaseMs > c.heartbeatMs * 2, {
    message: 'leaseMs must be more than twice heartbeatMs, or a live executor could lose its lease',
    path: ['leaseMs'],
  });

export type Config = z.infer<typeof schema>;
export type ConfigInput = { [K in keyof Config]?: Config[K] | undefined };

const env = (name: string): string | undefined => {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
};

/** True when the standard libpq variables name a server to use instead of the embedded one. */
export function pgEnvNamesServer(): boolean {
  return (
    env('PGHOST') !== undefined || env('PGPORT') !== undefined || env('PGDATABASE') !== undefined
  );
}

export function loadConfig(input: ConfigInput = {}): Config {
  const raw = {
    databaseUrl: input.databaseUrl ?? env('DATABASE_URL'),
    dataDir: path.resolve(input.dataDir ?? env('TABLEOS_DATA_DIR') ?? '.tableos'),
    port: input.port ?? env('TABLEOS_PORT'),
    poolSize: input.poolSize ?? env('TABLEOS_POOL_SIZE') ?? 10,
    connectTimeoutS: input.connectTimeoutS ?? env('TABLEOS_CONNECT_TIMEOUT') ?? 4,
    heartbeatMs: input.heartbeatMs ?? env('TABLEOS_HEARTBEAT_MS') ?? 1000,
    leaseMs: input.leaseMs ?? env('TABLEOS_LEASE_MS') ?? 5000,
    reconnectDeadlineMs:
      input.reconnectDeadlineMs ?? env('TABLEOS_RECONNECT_DEADLINE_MS') ?? 60_000,
    logLevel: input.logLevel ?? env('TABLEOS_LOG_LEVEL') ?? 'info',
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'config'}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}
