// Mailbox bookkeeping: counters for ls/stats and the retention sweep.
import type { Sql } from '../kernel/database.js';
import { runQuery } from '../kernel/query.js';
import './errors.js'; // registers the codes the procedures raise

export interface MailboxStats {
  mailbox: string;
  /** Messages waiting to be taken. */
  pending: number;
  /** Messages taken under a lease and not yet acknowledged. */
  leased: number;
  oldestAt: Date | undefined;
  /** Messages that outlived the retention unread, counted since the mailbox was made. */
  expired: number;
  retentionS: number;
  createdAt: Date;
}

interface StatsRow {
  mailbox: string;
  pending: string;
  leased: string;
  oldest_at: Date | null;
  expired: string;
  retention_s: number;
  created_at: Date;
}

export async function mailboxStats(sql: Sql, mailbox?: string): Promise<MailboxStats[]> {
  const rows = await runQuery(
    'tableos.msg_stats',
    [mailbox ?? null],
    () => sql<StatsRow[]>`select * from tableos.msg_stats(${mailbox ?? null})`,
  );
  return rows.map((r) => ({
    mailbox: r.mailbox,
    pending: Number(r.pending),
    leased: Number(r.leased),
    oldestAt: r.oldest_at ?? undefined,
    expired: Number(r.expired),
    retentionS: r.retention_s,
    createdAt: r.created_at,
  }));
}

export async function expireMessages(sql: Sql): Promise<{ mailbox: string; expired: number }[]> {
  const rows = await runQuery(
    'tableos.msg_expire',
    [],
    () => sql<{ mailbox: string; expired: string }[]>`select * from tableos.msg_expire()`,
  );
  return rows.map((r) => ({ mailbox: r.mailbox, expired: Number(r.expired) }));
}
