// The public entry point: one TableOS node (database, schema, executor) in this process.
import { callProcedure } from './kernel/call.js';
import { loadConfig, type Config, type ConfigInput } from './kernel/config.js';
import { openDatabase, type Database, type Sql } from './kernel/database.js';
import { ClosedError } from './kernel/errors.js';
import { ExecutorRegistry } from './kernel/executor-registry.js';
import { createLogger, type Logger } from './kernel/logger.js';
import { migrate } from './kernel/migrator.js';
import { VERSION } from './kernel/version.js';

export interface OpenOptions extends ConfigInput {
  /** A pino logger to use instead of the default one on stderr. */
  logger?: Logger;
  /** Register this process as an executor (default true). A pure client passes false. */
  executor?: boolean;
  /** Apply pending migrations at open (default true). */
  migrate?: boolean;
  /** Fixed executor id; a random one is made when absent. */
  executorId?: string;
}

export class TableOS {
  private closed = false;
  private readonly closeHooks: (() => Promise<void>)[] = [];

  private constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly db: Database,
    readonly executor: ExecutorRegistry | undefined,
    readonly schemaVersion: string | undefined,
  ) {}

  /** Opens a node: connects (starting the embedded Postgres if no server is named), migrates, registers. */
  static async open(options: OpenOptions = {}): Promise<TableOS> {
    const {
      logger,
      executor: asExecutor = true,
      migrate: doMigrate = true,
      executorId,
      ...input
    } = options;
    const config = loadConfig(input);
    const log = logger ?? createLogger(config.logLevel);
    const db = await openDatabase(config, log);
    try {
      const version = doMigrate ? (await migrate(db.sql, log)).version : undefined;
      let executor: ExecutorRegistry | undefined;
      if (asExecutor) {
        executor = new ExecutorRegistry(db.sql, log, {
          heartbeatMs: config.heartbeatMs,
          leaseMs: config.leaseMs,
          version: VERSION,
          id: executorId,
        });
        await executor.register();
      }
      const os = new TableOS(
        config,
        executor ? log.child({ executor: executor.id }) : log,
        db,
        executor,
        version,
      );
      return os;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** The connection pool: tagged-template SQL over the OS state. */
  get sql(): Sql {
    if (this.closed) throw new ClosedError();
    return this.db.sql;
  }

  /** Calls a stored procedure by (schema-qualified) name in one round trip and returns its rows. */
  call<Row = Record<string, unknown>>(name: string, ...args: unknown[]): Promise<Row[]> {
    if (this.closed) return Promise.reject(new ClosedError());
    return callProcedure<Row>(this.db.sql, name, args);
  }

  /** Runs fn at close, newest first, while the pool is still open (services stop their work here). */
  onClose(fn: () => Promise<void>): void {
    this.closeHooks.push(fn);
  }

  /** Marks the executor stopped, closes the pool, and stops the embedded Postgres if this process started it. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const hook of this.closeHooks.splice(0).reverse()) {
      try {
        await hook();
      } catch (err) {
        this.log.warn({ err }, 'a service failed to stop cleanly');
      }
    }
    this.closed = true;
    try {
      await this.executor?.stop();
    } catch (err) {
      this.log.warn({ err }, 'could not mark executor stopped');
    }
    await this.db.close();
  }
}
