// The public entry point: one TableOS node (database, schema, executor) in this process, and
// its services, each made on first use over the one kernel handle.
import { callProcedure } from './kernel/call.js';
import { loadConfig, type Config } from './kernel/config.js';
import { openDatabase, type Database, type Sql } from './kernel/database.js';
import { ClosedError } from './kernel/errors.js';
import { ExecutorRegistry } from './kernel/executor-registry.js';
import { Kernel } from './kernel/kernel.js';
import { createLogger, type Logger } from './kernel/logger.js';
import { migrate } from './kernel/migrator.js';
import { DEFAULT_RECONNECT, retryOnConnectionLoss } from './kernel/reconnect.js';
import { VERSION } from './kernel/version.js';
import { FileSystem } from './fs/file-system.js';
import { HttpGateway } from './http/gateway.js';
import { Messaging } from './messaging/messaging.js';
import { Scheduler } from './scheduler/scheduler.js';
import { Serverless } from './serverless/serverless.js';
import { Workflows } from './workflows/service.js';
import { parseOpenOptions, type OpenOptions, type ServiceOptions } from './open-options.js';

export type { OpenOptions } from './open-options.js';

export class TableOS {
  private constructor(
    /** The kernel handle the services stand on. */
    readonly kernel: Kernel,
    readonly schemaVersion: string | undefined,
    private readonly serviceOptions: ServiceOptions,
  ) {}

  /** Opens a node: connects (starting the embedded Postgres if no server is named), migrates, registers. */
  static async open(options: OpenOptions = {}): Promise<TableOS> {
    const {
      logger,
      executor: asExecutor,
      migrate: doMigrate,
      executorId,
      app,
      services,
      config,
    } = parseOpenOptions(options, loadConfig);
    const log = logger ?? createLogger(config.logLevel);
    const db = await openDatabase(config, log);
    // Opening survives a connection lost on the way, as every later statement does: the
    // migrations and the registration are safe to run again.
    const retrying = <T>(what: string, op: () => Promise<T>) =>
      retryOnConnectionLoss(what, op, {
        policy: { ...DEFAULT_RECONNECT, deadlineMs: config.reconnectDeadlineMs },
        log,
      });
    try {
      const version = doMigrate
        ? (await retrying('migrations', () => migrate(db.sql, log))).version
        : undefined;
      let executor: ExecutorRegistry | undefined;
      if (asExecutor) {
        executor = new ExecutorRegistry(db.sql, log, {
          heartbeatMs: config.heartbeatMs,
          leaseMs: config.leaseMs,
          version: VERSION,
          id: executorId,
          app,
        });
        const registry = executor;
        await retrying('tableos.executor_register', () => registry.register());
      }
      const kernel = new Kernel(
        config,
        executor ? log.child({ executor: executor.id }) : log,
        db,
        executor,
      );
      return new TableOS(kernel, version, services);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  get config(): Config {
    return this.kernel.config;
  }

  get log(): Logger {
    return this.kernel.log;
  }

  get db(): Database {
    return this.kernel.db;
  }

  get executor(): ExecutorRegistry | undefined {
    return this.kernel.executor;
  }

  /** The connection pool: tagged-template SQL over the OS state. */
  get sql(): Sql {
    return this.kernel.sql;
  }

  /** Calls a stored procedure by (schema-qualified) name in one round trip and returns its rows. */
  call<Row = Record<string, unknown>>(name: string, ...args: unknown[]): Promise<Row[]> {
    if (this.kernel.isClosed) return Promise.reject(new ClosedError());
    return callProcedure<Row>(this.kernel.sql, name, args);
  }

  /** Durable workflows, steps and exactly-once procedures. */
  get workflows(): Workflows {
    const k = this.kernel;
    return k.service('workflows', () => new Workflows(k, this.serviceOptions.workflows));
  }

  /** Queues, worker slots, placement policies and cron. */
  get scheduler(): Scheduler {
    const k = this.kernel;
    // Made after workflows (which it runs), so it is closed before them.
    const workflows = this.workflows;
    return k.service('scheduler', () => new Scheduler(k, workflows));
  }

  /** Graphs of functions (DAGs) run on their parents' outputs, placed by the scheduler. */
  get serverless(): Serverless {
    const k = this.kernel;
    // Made after the scheduler (which places its nodes), so it is closed before it.
    const scheduler = this.scheduler;
    return k.service(
      'serverless',
      () => new Serverless(k, scheduler, this.serviceOptions.serverless),
    );
  }

  /** Durable mailboxes, request/response. */
  get messaging(): Messaging {
    const k = this.kernel;
    return k.service('messaging', () => new Messaging(k, this.serviceOptions.messaging));
  }

  /** Files, directories and blocks as rows, seen by root; `os.fs.as(identity)` for another user. */
  get fs(): FileSystem {
    const k = this.kernel;
    return k.service('fs', () => new FileSystem(k));
  }

  /** The HTTP gateway: routes that start workflows, idempotency keys, async runs, OpenAPI. */
  get http(): HttpGateway {
    const k = this.kernel;
    // Made after workflows (which it starts), so it drains before they stop.
    const workflows = this.workflows;
    return k.service(
      'http',
      () => new HttpGateway(k, workflows, this.serviceOptions.http, { fs: () => this.fs }),
    );
  }

  /** Stops every service (newest first), marks the executor stopped, closes the pool, and stops the embedded Postgres if this process started it. */
  async close(): Promise<void> {
    if (this.kernel.isClosed) return;
    await this.kernel.close();
    try {
      await this.kernel.executor?.stop();
    } catch (err) {
      this.log.warn({ err }, 'could not mark executor stopped');
    }
    await this.kernel.db.close();
  }
}
