// Takeover: claims the pending runs of executors that died or stopped and hands them to this
// executor to resume. Woken by tableos_executor and tableos_wf notifications; a slow poll
// covers any that were missed.
import type { Sql } from '../kernel/database.js';
import type { Logger } from '../kernel/logger.js';
import type { Notifier } from '../kernel/notifier.js';
import { callsFromJson, type CallRow } from './rows.js';

export interface ClaimedRun {
  id: string;
  name: string;
  status: string;
  input: string | null;
  deadline: Date | null;
  trace_context: string | null;
}

/** A claimed run with its recorded calls (a JSON array; null when it is not to be resumed). */
type ClaimedRow = ClaimedRun & { calls: unknown };

export interface TakeoverDeps {
  sql: Sql;
  notifier: Notifier;
  log: Logger;
  pollMs: number;
  executorId: () => string | undefined;
  /** Names of the workflows this process can run. */
  names: () => string[];
  isRunning: (id: string) => boolean;
  /** The ids of the runs going on in this process. */
  running: () => string[];
  resume: (run: ClaimedRun, calls: Map<number, CallRow>) => void;
}

const CLAIM_BATCH = 100;

export class Takeover {
  private timer: NodeJS.Timeout | undefined;
  private all = false;
  /** Look for this executor's own pending runs that are not running here (see adoptOwn). */
  private own = false;
  private readonly ids = new Set<string>();
  private claiming: Promise<void> = Promise.resolve();
  private poll: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly d: TakeoverDeps) {}

  start(): void {
    if (this.started || this.d.executorId() === undefined) return;
    this.started = true;
    this.d.notifier
      .subscribe('tableos_executor', {
        onPayload: (payload) => {
          if (!payload.includes('"alive"')) this.schedule(null);
        },
        // Back from a lost connection: notices were missed, and a claim whose answer was
        // lost may have left runs assigned to this executor that nothing runs.
        onRelisten: () => this.adoptOwn(),
      })
      .catch((err: unknown) => this.d.log.warn({ err }, 'cannot listen for executors'));
    this.poll = setInterval(() => this.schedule(null), this.d.pollMs);
    this.poll.unref();
  }

  /**
   * Resumes this executor's own pending runs that are not running here, soon: runs left
   * pending when the database was unreachable, or claimed by a statement whose answer was
   * lost. Keeps trying on the poll until one look succeeds.
   */
  adoptOwn(): void {
    this.own = true;
    this.schedule(null);
  }

  /** Claims soon: the given runs, or (null) any claimable run. Calls are coalesced. */
  schedule(ids: string[] | null): void {
    if (this.stopped || this.d.executorId() === undefined) return;
    if (ids === null) this.all = true;
    else for (const id of ids) this.ids.add(id);
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const only = this.all ? null : [...this.ids];
      this.all = false;
      this.ids.clear();
      this.claiming = this.claiming
        .then(() => this.claim(only))
        .catch((err: unknown) => this.d.log.warn({ err }, 'workflow takeover failed; will retry'));
    }, 0);
  }

  private async claim(ids: string[] | null): Promise<void> {
    const me = this.d.executorId();
    const names = this.d.names();
    if (this.stopped || me === undefined || names.length === 0) return;
    if (this.own) {
      const mine = await this.d.sql<ClaimedRow[]>`
        select * from tableos.wf_own_runs(${me}, ${names}, ${this.d.running()})`;
      this.own = false;
      this.resumeLive(mine);
    }
    for (;;) {
      const rows = await this.d.sql<ClaimedRow[]>`
        select * from tableos.wf_claim_runs(${me}, ${names}, ${ids}, ${CLAIM_BATCH})`;
      this.resumeLive(rows);
      if (rows.length < CLAIM_BATCH || this.stopped) return;
    }
  }

  private resumeLive(rows: ClaimedRow[]): void {
    const live = rows.filter((r) => r.status === 'pending' && !this.d.isRunning(r.id));
    if (live.length === 0) return;
    this.d.log.info({ workflows: live.map((r) => r.id) }, 'taking over workflows');
    for (const r of live) this.d.resume(r, callsFromJson(r.calls));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.poll);
    await this.claiming;
  }
}
