// The gateway's configuration: options over environment over defaults, validated once.
import { z } from 'zod';
import { ConfigError } from '../kernel/errors.js';

export interface HttpOptions {
  /** TCP port (default 8080, or TABLEOS_HTTP_PORT); 0 picks a free one. */
  port?: number;
  /** Address to bind (default 127.0.0.1, or TABLEOS_HTTP_HOST). */
  host?: string;
  /** Largest request body in bytes (default 1 MiB, or TABLEOS_HTTP_BODY_LIMIT); larger is 413. */
  bodyLimit?: number;
  /** On close, how long in-flight requests may take to finish before their sockets are cut (default 10 s). */
  drainMs?: number;
  /** The longest `GET /runs/{id}?wait=` honoured (default 30 s); longer waits are cut to it. */
  maxWaitMs?: number;
  /** Serve the web console at /console (default true). */
  console?: boolean;
  /** Let the console's SQL page run statements that write (default false, or TABLEOS_CONSOLE_SQL_WRITE=1). */
  consoleSqlWrite?: boolean;
  /** Statement timeout of the console's SQL page (default 5 s). */
  consoleSqlTimeoutMs?: number;
}

export type HttpConfig = Required<HttpOptions>;

/** The zod shape of the options, also used by TableOS.open to validate `http: {...}`. */
export const httpOptionsSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).optional(),
  host: z.string().min(1).max(255).optional(),
  bodyLimit: z.number().int().positive().max(1_073_741_824).optional(),
  drainMs: z.number().int().nonnegative().max(3_600_000).optional(),
  maxWaitMs: z.number().int().nonnegative().max(3_600_000).optional(),
  console: z.boolean().optional(),
  consoleSqlWrite: z.boolean().optional(),
  consoleSqlTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
});

const envSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  bodyLimit: z.coerce.number().int().positive(),
});

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function httpConfig(opts: HttpOptions = {}): HttpConfig {
  const parsed = envSchema.safeParse({
    port: opts.port ?? env('TABLEOS_HTTP_PORT') ?? 8080,
    host: opts.host ?? env('TABLEOS_HTTP_HOST') ?? '127.0.0.1',
    bodyLimit: opts.bodyLimit ?? env('TABLEOS_HTTP_BODY_LIMIT') ?? 1024 * 1024,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid http configuration: ${problems}`);
  }
  return {
    ...parsed.data,
    drainMs: opts.drainMs ?? 10_000,
    maxWaitMs: opts.maxWaitMs ?? 30_000,
    console: opts.console ?? true,
    consoleSqlWrite: opts.consoleSqlWrite ?? env('TABLEOS_CONSOLE_SQL_WRITE') === '1',
    consoleSqlTimeoutMs: opts.consoleSqlTimeoutMs ?? 5000,
  };
}
