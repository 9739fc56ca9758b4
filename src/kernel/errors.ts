// One base error with stable string codes; every condition is its own subclass.

export type ErrorCode =
  | 'TABLEOS_CONFIG_INVALID'
  | 'TABLEOS_DATABASE_UNREACHABLE'
  | 'TABLEOS_DATA_DIR_UNWRITABLE'
  | 'TABLEOS_PORT_IN_USE'
  | 'TABLEOS_EMBEDDED_POSTGRES'
  | 'TABLEOS_POSTGRES_TOO_OLD'
  | 'TABLEOS_MIGRATION_CHANGED'
  | 'TABLEOS_MIGRATION_MISSING'
  | 'TABLEOS_MIGRATION_FAILED'
  | 'TABLEOS_QUERY_FAILED'
  | 'TABLEOS_INVALID_ARGUMENT'
  | 'TABLEOS_NOT_FOUND'
  | 'TABLEOS_CLOSED'
  | 'TABLEOS_DATABASE_UNAVAILABLE'
  | 'TABLEOS_INTERNAL'
  | (string & {});

export class TableOSError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

export class ConfigError extends TableOSError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_CONFIG_INVALID', message, options);
  }
}

export class DatabaseUnreachableError extends TableOSError {
  constructor(
    readonly host: string,
    readonly port: number,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'TABLEOS_DATABASE_UNREACHABLE',
      `cannot reach PostgreSQL at ${host}:${port}: ${detail}. Check that the server is running and DATABASE_URL is right.`,
      options,
    );
  }
}

export class DataDirError extends TableOSError {
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'TABLEOS_DATA_DIR_UNWRITABLE',
      `data directory ${path} is not usable: ${detail}`,
      options,
    );
  }
}

export class PortInUseError extends TableOSError {
  constructor(
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(
      'TABLEOS_PORT_IN_USE',
      `port ${port} is already in use; choose another with --port or TABLEOS_PORT, or leave it unset to pick a free one`,
      options,
    );
  }
}

export class EmbeddedPostgresError extends TableOSError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_EMBEDDED_POSTGRES', message, options);
  }
}

export class PostgresVersionError extends TableOSError {
  constructor(version: string) {
    super(
      'TABLEOS_POSTGRES_TOO_OLD',
      `PostgreSQL ${version} is not supported: TableOS needs 15 or later`,
    );
  }
}

export class MigrationChangedError extends TableOSError {
  constructor(
    readonly migration: string,
    detail: string,
  ) {
    super(
      'TABLEOS_MIGRATION_CHANGED',
      `migration ${migration} ${detail}; applied migrations must never be edited, add a new numbered file instead`,
    );
  }
}

export class MigrationMissingError extends TableOSError {
  constructor(readonly migration: string) {
    super(
      'TABLEOS_MIGRATION_MISSING',
      `migration ${migration} is recorded as applied in this database but its file is missing; this TableOS version does not match the database`,
    );
  }
}

export class MigrationFailedError extends TableOSError {
  constructor(
    readonly migration: string,
    options: { cause: unknown },
  ) {
    super(
      'TABLEOS_MIGRATION_FAILED',
      `migration ${migration} failed and was rolled back: ${errorMessage(options.cause)}`,
      options,
    );
  }
}

/** A statement failed; carries the query's name and parameters, and Postgres' own fields. */
export class QueryError extends TableOSError {
  readonly query: string;
  readonly params: readonly unknown[];
  readonly sqlState: string | undefined;
  readonly position: number | undefined;
  /** The SQL text, when it was the user's own (for pointing at the error position). */
  readonly text: string | undefined;

  constructor(query: string, params: readonly unknown[], cause: unknown, text?: string) {
    const pg = cause as { code?: unknown; position?: unknown } | undefined;
    super('TABLEOS_QUERY_FAILED', `${query}: ${errorMessage(cause)}`, { cause });
    this.query = query;
    this.params = params;
    this.sqlState = typeof pg?.code === 'string' ? pg.code : undefined;
    const pos = Number(pg?.position);
    this.position = Number.isFinite(pos) && pos > 0 ? pos : undefined;
    this.text = text;
  }
}

export class InvalidArgumentError extends TableOSError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_INVALID_ARGUMENT', message, options);
  }
}

export class NotFoundError extends TableOSError {
  constructor(message: string) {
    super('TABLEOS_NOT_FOUND', message);
  }
}

export class ClosedError extends TableOSError {
  constructor(message = 'this TableOS instance is closed') {
    super('TABLEOS_CLOSED', message);
  }
}

/**
 * The database stayed out of reach past the reconnect deadline: the operation did not run,
 * or its outcome is recorded and will be found again when the database is back.
 */
export class DatabaseUnavailableError extends TableOSError {
  constructor(
    readonly what: string,
    readonly waitedMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      'TABLEOS_DATABASE_UNAVAILABLE',
      `${what}: the database stayed unreachable for ${waitedMs} ms (the reconnect deadline); last error: ${errorMessage(options?.cause)}`,
      options,
    );
  }
}

/** Something TableOS itself got wrong (a broken invariant, an impossible answer): a bug to report. */
export class InternalError extends TableOSError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TABLEOS_INTERNAL', message, options);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
