// The kernel handle every service stands on: the pool, the logger, the notifier, the
// executor, and one registry that makes each service on first use and closes them newest first.
import { Metrics } from './metrics.js';
import type { Config } from './config.js';
import type { Database, Sql } from './database.js';
import { ClosedError } from './errors.js';
import type { ExecutorRegistry } from './executor-registry.js';
import type { Logger } from './logger.js';
import { Notifier } from './notifier.js';
import { Once } from './once.js';
import { DEFAULT_RECONNECT, retryOnConnectionLoss, type ReconnectPolicy } from './reconnect.js';

/** What a service must do when the node closes. */
export interface Service {
  close(): Promise<void>;
}

export class Kernel {
  readonly notifier: Notifier;
  /** Statements run once by token: a retry after a lost connection finds the first outcome. */
  readonly once: Once;
  /** The node's Prometheus metrics: counters services increment, gauges set at scrape. */
  readonly metrics = new Metrics();
  private readonly services = new Map<string, Service>();
  private readonly order: string[] = [];
  private closing = false;
  private closed = false;

  constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly db: Database,
    readonly executor: ExecutorRegistry | undefined,
  ) {
    const retrying = <T>(what: string, op: () => Promise<T>) => this.retrying(what, op);
    this.notifier = new Notifier(() => db.newPool({ max: 1 }), log.child({ part: 'notifier' }), {
      retrying,
    });
    this.once = new Once(retrying);
  }

  /** The connection pool: tagged-template SQL over the OS state. */
  get sql(): Sql {
    if (this.closed) throw new ClosedError();
    return this.db.sql;
  }

  /** This node's executor id; undefined for a pure client. */
  get executorId(): string | undefined {
    return this.executor?.id;
  }

  /** True once close() has begun: no new service may be made. */
  get isClosed(): boolean {
    return this.closing;
  }

  /** How operations retry after losing their connection: the configured deadline. */
  get reconnect(): ReconnectPolicy {
    return { ...DEFAULT_RECONNECT, deadlineMs: this.config.reconnectDeadlineMs };
  }

  /**
   * Runs op, and again on a fresh connection after each connection loss, until the
   * reconnect deadline (see reconnect.ts). op must be safe to run twice.
   */
  retrying<T>(what: string, op: () => Promise<T>): Promise<T> {
    return retryOnConnectionLoss(what, op, {
      policy: this.reconnect,
      log: this.log,
      stopped: () => this.closed,
    });
  }

  /** A child logger for one service. */
  logger(service: string): Logger {
    return this.log.child({ service });
  }

  /** The service registered under name, made by make on first use. */
  service<S extends Service>(name: string, make: () => S): S {
    if (this.closing) throw new ClosedError();
    let s = this.services.get(name);
    if (s === undefined) {
      s = make();
      this.services.set(name, s);
      this.order.push(name);
    }
    return s as S;
  }

  /** Whether the service named has been made. */
  has(name: string): boolean {
    return this.services.has(name);
  }

  /** Closes every service, newest first, then the notifier; the pool stays for the caller to end. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // The pool stays usable while the services stop: they write their last state.
    for (const name of this.order.splice(0).reverse()) {
      try {
        await this.services.get(name)?.close();
      } catch (err) {
        this.log.warn({ err, service: name }, 'a service failed to stop cleanly');
      }
    }
    this.services.clear();
    this.closed = true;
    await this.notifier
      .close()
      .catch((err: unknown) => this.log.warn({ err }, 'could not close the notifier'));
  }
}
