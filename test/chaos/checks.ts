// What the chaos run left behind, counted from the database and the receipts file: the
// outcome of every transfer, and whether each effect happened exactly as often as it should.
import fs from 'node:fs';
import type postgres from 'postgres';
import { AUDIT_MAILBOX, TRANSFER } from './bank.js';

export interface Progress {
  started: number;
  pending: number;
  undrained: number;
}

export async function progress(sql: postgres.Sql): Promise<Progress> {
  const [p] = await sql<Progress[]>`
    select (select count(*) from tableos.workflow where name = ${TRANSFER})::int started,
           (select count(*) from tableos.workflow
             where name = ${TRANSFER} and status in ('pending', 'enqueued'))::int pending,
           (select count(*) from tableos.message where receiver = ${AUDIT_MAILBOX})::int undrained`;
  return p!;
}

export interface Counts {
  workflows: {
    planned: number;
    started: number;
    succeeded: number;
    errored: number;
    pending: number;
    /** cancelled or max_recovery_exceeded. */
    other: number;
    /** Errors of the runs that did not succeed, as "name code message", with their counts. */
    errors: Record<string, number>;
    /** Takeovers of runs whose executor died. */
    recoveries: number;
  };
  procedureEffects: { lost: number; duplicated: number; ofUnsuccessfulRuns: number };
  balances: { conserved: boolean; total: number; expectedTotal: number; accountsOff: number };
  audit: { missing: number; duplicated: number; undrained: number };
  stepEffects: { duplicated: number; missing: number };
}

const MAX_ERROR_KINDS = 10;

export async function count(
  sql: postgres.Sql,
  o: { planned: number; accounts: number; balance: number; receipts: string },
): Promise<Counts> {
  const status = await sql<{ status: string; n: number; recoveries: number }[]>`
    select status, count(*)::int n, sum(recovery_attempts)::int recoveries
      from tableos.workflow where name = ${TRANSFER} group by status`;
  const by = (s: string[]) =>
    status.filter((r) => s.includes(r.status)).reduce((a, r) => a + r.n, 0);
  const errorRows = await sql<{ what: string; n: number }[]>`
    select concat_ws(' ', e->>'name', e->>'code', left(e->>'message', 160)) what, count(*)::int n
      from (select error::jsonb e from tableos.workflow
             where name = ${TRANSFER} and status <> 'success') x
     group by 1 order by 2 desc, 1`;
  const errors: Record<string, number> = {};
  for (const [i, r] of errorRows.entries()) {
    const key = i < MAX_ERROR_KINDS ? r.what || '(no error recorded)' : '(other errors)';
    errors[key] = (errors[key] ?? 0) + r.n;
  }

  const [fx] = await sql<
    { lost: number; duplicated: number; unsuccessful: number; missing: number; dup_audit: number }[]
  >`
    with ok as (select id from tableos.workflow where name = ${TRANSFER} and status = 'success'),
         l as (select workflow_id, count(*) n from bank_ledger group by 1),
         a as (select workflow_id, count(*) n from bank_audit group by 1)
    select (select count(*) from ok where id not in (select workflow_id from l))::int lost,
           (select coalesce(sum(n - 1), 0) from l)::int duplicated,
           (select count(*) from l where workflow_id not in (select id from ok))::int unsuccessful,
           (select count(*) from ok where id not in (select workflow_id from a))::int missing,
           (select coalesce(sum(n - 1), 0) from a)::int dup_audit`;
  const [bal] = await sql<{ total: string; off: number }[]>`
    with moves as (
      select to_account id, amount d from bank_ledger
      union all select from_account, -amount from bank_ledger)
    select (select sum(balance) from bank_account)::text total,
           (select count(*) from bank_account b
             where b.balance <> ${o.balance}::bigint
                   + coalesce((select sum(d) from moves m where m.id = b.id), 0))::int off`;
  const expectedTotal = o.accounts * o.balance;
  const total = Number(bal!.total);

  const succeeded = new Set(
    (
      await sql<{ id: string }[]>`
        select id from tableos.workflow where name = ${TRANSFER} and status = 'success'`
    ).map((r) => r.id),
  );
  const receipts = new Map<string, number>();
  for (const line of fs.readFileSync(o.receipts, 'utf8').split('\n')) {
    if (line !== '') receipts.set(line, (receipts.get(line) ?? 0) + 1);
  }
  const { undrained } = await progress(sql);
  return {
    workflows: {
      planned: o.planned,
      started: status.reduce((a, r) => a + r.n, 0),
      succeeded: by(['success']),
      errored: by(['error']),
      pending: by(['pending', 'enqueued']),
      other: by(['cancelled', 'max_recovery_exceeded']),
      errors,
      recoveries: status.reduce((a, r) => a + r.recoveries, 0),
    },
    procedureEffects: {
      lost: fx!.lost,
      duplicated: fx!.duplicated,
      ofUnsuccessfulRuns: fx!.unsuccessful,
    },
    balances: {
      conserved: total === expectedTotal && bal!.off === 0,
      total,
      expectedTotal,
      accountsOff: bal!.off,
    },
    audit: { missing: fx!.missing, duplicated: fx!.dup_audit, undrained },
    stepEffects: {
      duplicated: [...receipts.values()].reduce((a, n) => a + n - 1, 0),
      missing: [...succeeded].filter((id) => !receipts.has(id)).length,
    },
  };
}
