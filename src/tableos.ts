// The public entry point: one TableOS node (database, schema, executor) in this process.
import { callProcedure } from './kernel/call.js';
import { loadConfig, type Config, type ConfigInput } from './kernel/config.js';
import { openDatabase, type Database, type Sql } from './kernel/database.js';
import { ClosedError } from './kernel/errors.js';
import { ExecutorRegistry } from './kernel/executor-registry.js';
import { createLogger, type Logger } from './kernel/logger.js';
import { migrate } from './kernel/migrator.js';
import { Messaging } from './messaging/messaging.js';
import { scheduler, type Scheduler } from './scheduler/index.js';
import { VERSION } from './kernel/version.js';
import { Workflows } from './workflows/service.js';

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
  private workflowService: Workflows | undefined;
  private messagingService: Messaging | undefined;
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
      if (executor) os.messagingService = os.newMessaging();
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

  /** Durable workflows, steps and exactly-once procedures (created on first use). */
  get workflows(): Workflows {
    if (this.closed) throw new ClosedError();
    this.workflowService ??= new Workflows(this);
    return this.workflowService;
  }

  /** Queues, worker slots, placement policies and cron (created on first use). */
  get scheduler(): Scheduler {
    if (this.closed) throw new ClosedError();
    return scheduler(this);
  }

  /** Durable mailboxes, request/response (created on first use). */
  get messaging(): Messaging {
    if (this.closed) throw new ClosedError();
    this.messagingService ??= this.newMessaging();
    return this.messagingService;
  }

  private newMessaging(): Messaging {
    return new Messaging(
      this.db.sql,
      () => this.db.newPool({ max: 1 }),
      this.log.child({ service: 'messaging' }),
      {
        address: this.executor ? `proc.${this.executor.id}`.slice(0, 128) : undefined,
        // Executors run the retention sweep (no connection is opened until it runs).
        expireEveryMs: this.executor ? 60_000 : 0,
      },
    );
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
    await this.workflowService
      ?.close()
      .catch((err: unknown) => this.log.warn({ err }, 'could not stop workflows'));
    await this.messagingService?.close().catch((err: unknown) => {
      this.log.warn({ err }, 'could not close messaging');
    });
    try {
      await this.executor?.stop();
    } catch (err) {
      this.log.warn({ err }, 'could not mark executor stopped');
    }
    await this.db.close();
  }
}
