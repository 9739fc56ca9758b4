// Keeps the embedded server up while this process uses it: when the postmaster exits without
// this process asking (kill -9, a crash, an operator's pg_ctl stop), it is started again on the
// same data directory and port, with backoff, and PostgreSQL's crash recovery replays the WAL.
import type { Logger } from '../logger.js';
import { isPostmasterOf, readPostmasterPid } from './pid-file.js';
import type { ServerExit } from './server-process.js';

/** The server being watched; exited is known only for a postmaster this process spawned. */
export interface WatchedServer {
  pid: number;
  exited?: Promise<ServerExit> | undefined;
}

/** What a restart found: a server it started, or one another process had started meanwhile. */
export interface Restarted extends WatchedServer {
  startedHere: boolean;
}

export interface SupervisorOptions {
  pgdata: string;
  log: Logger;
  /** Starts the server again under the boot lock, or attaches to one that is running. */
  restart: () => Promise<Restarted>;
  /** How often the postmaster's pid is checked (the only sign for one another process spawned). */
  pollMs?: number;
  /**
   * After a clean exit (code 0, or postmaster.pid removed: someone ran a smart or fast
   * shutdown), how long to wait for whoever stopped it to start it again (pg_ctl restart)
   * before starting it here.
   */
  cleanExitGraceMs?: number;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

export class Supervisor {
  private current: WatchedServer | undefined;
  private poll: NodeJS.Timeout | undefined;
  private stopped = false;
  private recovering: Promise<void> | undefined;
  private readonly pollMs: number;
  private readonly graceMs: number;

  constructor(private readonly opts: SupervisorOptions) {
    this.pollMs = opts.pollMs ?? 500;
    this.graceMs = opts.cleanExitGraceMs ?? 3_000;
  }

  /** Watches server: its exit event when this process spawned it, else its pid. */
  watch(server: WatchedServer): void {
    if (this.stopped) return;
    this.current = server;
    void server.exited?.then((exit) => this.lost(server, exit));
    clearInterval(this.poll);
    this.poll = setInterval(() => {
      if (!isPostmasterOf(server.pid, this.opts.pgdata)) this.lost(server, undefined);
    }, this.pollMs);
    // Watching alone must not keep a finished program alive.
    this.poll.unref();
  }

  /** Stops watching; the caller is about to stop the server (or leave it to others). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    await this.recovering;
  }

  private lost(server: WatchedServer, exit: ServerExit | undefined): void {
    if (this.stopped || this.current !== server || this.recovering !== undefined) return;
    clearInterval(this.poll);
    this.recovering = this.recover(server, exit).finally(() => (this.recovering = undefined));
  }

  private async recover(server: WatchedServer, exit: ServerExit | undefined): Promise<void> {
    const { log, pgdata } = this.opts;
    // A clean shutdown (smart or fast) removes postmaster.pid; kill -9 and crashes leave it.
    const clean = exit ? exit.code === 0 : readPostmasterPid(pgdata)?.pid !== server.pid;
    const how = describeExit(exit, clean);
    log.warn(
      { postmaster: server.pid, code: exit?.code, signal: exit?.signal },
      `embedded PostgreSQL exited (${how}); restarting`,
    );
    const lostAt = Date.now();
    if (clean) await this.waitForOther(lostAt + this.graceMs);
    let delay = FIRST_RETRY_MS;
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const next = await this.opts.restart();
        const ms = Date.now() - lostAt;
        if (next.startedHere)
          log.info(
            { postmaster: next.pid, ms, attempts: attempt },
            `embedded PostgreSQL restarted after ${ms} ms`,
          );
        else
          log.info(
            { postmaster: next.pid, ms },
            `embedded PostgreSQL is back after ${ms} ms (started by another process)`,
          );
        this.watch(next);
        return;
      } catch (err) {
        log.error({ err, attempt }, 'could not restart embedded PostgreSQL; trying again');
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
  }

  /** Waits until another process's postmaster runs on the data directory, or the deadline. */
  private async waitForOther(deadline: number): Promise<void> {
    while (!this.stopped && Date.now() < deadline) {
      const pm = readPostmasterPid(this.opts.pgdata);
      if (pm !== undefined && isPostmasterOf(pm.pid, this.opts.pgdata)) return;
      await sleep(50);
    }
  }
}

function describeExit(exit: ServerExit | undefined, clean: boolean): string {
  if (exit === undefined) return clean ? 'shut down by another process' : 'its process is gone';
  if (exit.signal !== null) return `signal ${exit.signal}`;
  return `code ${exit.code}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
