// Takeover: claims the pending runs of executors that died or stopped and hands them to this
// executor to resume. Woken by tableos_executor and tableos_wf notifications; a slow poll
// covers any that were missed.
import type { Sql } from '../kernel/database.js';
import type { Logger } from '../kernel/logger.js';
import type { Notifier } from '../kernel/notifier.js';
import type { CallRow } from './rows.js';

export interface ClaimedRun {
  id: string;
  name: string;
  status: string;
  input: string | null;
  deadline: Date | null;
}

export interface TakeoverDeps {
  sql: Sql;
  notifier: Notifier;
  log: Logger;
  pollMs: number;
  executorId: () => string | undefined;
  /** Names of the workflows this process can run. */
  names: () => string[];
  isRunning: (id: string) => boolean;
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
      const mine = await this.d.sql<ClaimedRun[]>`
        select id, name, status, input, deadline from tableos.workflow
         where status = 'pending' and executor_id = ${me} and name = any(${names})`;
      this.own = false;
      await this.resumeLive(mine);
    }
    for (;;) {
      const rows = await this.d.sql<ClaimedRun[]>`
        select * from tableos.wf_claim(${me}, ${names}, ${ids}, ${CLAIM_BATCH})`;
      await this.resumeLive(rows);
      if (rows.length < CLAIM_BATCH || this.stopped) return;
    }
  }

  private async resumeLive(rows: ClaimedRun[]): Promise<void> {
    const live = rows.filter((r) => r.status === 'pending' && !this.d.isRunning(r.id));
    if (live.length === 0) return;
    this.d.log.info({ workflows: live.map((r) => r.id) }, 'taking over workflows');
    const calls = await loadCalls(
      this.d.sql,
      live.map((r) => r.id),
    );
    for (const r of live) this.d.resume(r, calls.get(r.id) ?? new Map<number, CallRow>());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.poll);
    await this.claiming;
  }
}

/** The recorded calls of some runs, by run and position. */
export async function loadCalls(
  sql: Sql,
  ids: string[],
): Promise<Map<string, Map<number, CallRow>>> {
  const rows = await sql<CallRow[]>`
    select * from tableos.workflow_call where workflow_id = any(${ids}) order by workflow_id, seq`;
  const out = new Map<string, Map<number, CallRow>>();
  for (const r of rows) {
    let m = out.get(r.workflow_id);
    if (!m) out.set(r.workflow_id, (m = new Map<number, CallRow>()));
    m.set(r.seq, r);
  }
  return out;
}
