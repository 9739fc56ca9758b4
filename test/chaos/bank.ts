// The chaos workload, written as an application would write it on the public API: accounts
// in the app's own tables, a transfer workflow (an exactly-once procedure, a step with an
// external effect, an audit message), a driver that starts planned transfers by id, and a
// consumer that drains the audit mailbox into a table exactly once.
import fs from 'node:fs';
import type { TableOS, Workflow } from '../../src/index.js';

export const AUDIT_MAILBOX = 'bank-audit';
export const TRANSFER = 'transfer';

export interface Audit {
  workflowId: string;
  from: number;
  to: number;
  amount: number;
}

/** One planned transfer: started by the worker of its slot once due_at has passed. */
export interface PlannedTransfer {
  n: number;
  id: string;
  slot: number;
  from: number;
  to: number;
  amount: number;
  pauseMs: number;
  dueMs: number;
}

/**
 * The app's tables. Nothing in them is unique per workflow on purpose: a duplicated effect
 * must show up as a second row, not be hidden by a constraint.
 */
export async function createBank(os: TableOS, accounts: number, balance: number): Promise<void> {
  await os.sql`create table bank_account (id int primary key, balance bigint not null)`;
  await os.sql`create table bank_ledger (
    workflow_id text not null, from_account int not null, to_account int not null,
    amount bigint not null, at timestamptz not null default clock_timestamp())`;
  await os.sql`create table bank_audit (
    workflow_id text not null, seq bigint not null, body jsonb not null,
    at timestamptz not null default clock_timestamp())`;
  await os.sql`create table bank_plan (
    n int primary key, id text not null, slot int not null, from_account int not null,
    to_account int not null, amount bigint not null, pause_ms int not null,
    due_at timestamptz not null)`;
  await os.sql`
    insert into bank_account (id, balance)
    select i, ${balance}::bigint from generate_series(1, ${accounts}::int) i`;
}

/** Publishes the plan; due times count from now, in database time. */
export async function publishPlan(os: TableOS, plan: readonly PlannedTransfer[]): Promise<void> {
  await os.sql`
    insert into bank_plan (n, id, slot, from_account, to_account, amount, pause_ms, due_at)
    select n, id, slot, f, t, a, p, now() + d * interval '1 millisecond'
      from unnest(${plan.map((p) => p.n)}::int[], ${plan.map((p) => p.id)}::text[],
                  ${plan.map((p) => p.slot)}::int[], ${plan.map((p) => p.from)}::int[],
                  ${plan.map((p) => p.to)}::int[], ${plan.map((p) => p.amount)}::bigint[],
                  ${plan.map((p) => p.pauseMs)}::int[], ${plan.map((p) => p.dueMs)}::int[])
           as u(n, id, slot, f, t, a, p, d)`;
}

export type Transfer = Workflow<
  [from: number, to: number, amount: number, pauseMs: number],
  string
>;

/** Registers the transfer workflow; its step appends the workflow id to receiptsFile. */
export function registerBank(os: TableOS, receiptsFile: string): Transfer {
  const wf = os.workflows;
  const move = wf.procedure(
    'move_money',
    async (tx, workflowId: string, from: number, to: number, amount: number) => {
      // Rows in id order, so two opposite transfers cannot deadlock.
      for (const id of [from, to].sort((a, b) => a - b)) {
        const delta = id === to ? amount : -amount;
        await tx`update bank_account set balance = balance + ${delta} where id = ${id}`;
      }
      await tx`
        insert into bank_ledger (workflow_id, from_account, to_account, amount)
        values (${workflowId}, ${from}, ${to}, ${amount})`;
    },
  );
  // The external effect: at-least-once between the append and the step's checkpoint.
  const receipt = wf.step('append_receipt', (workflowId: string) => {
    fs.appendFileSync(receiptsFile, `${workflowId}\n`);
    return Promise.resolve(true);
  });
  return wf.workflow(
    TRANSFER,
    async (ctx, from: number, to: number, amount: number, pauseMs: number) => {
      await ctx.call(move, ctx.workflowId, from, to, amount);
      if (pauseMs > 0) await ctx.sleep(pauseMs);
      await ctx.call(receipt, ctx.workflowId);
      const audit: Audit = { workflowId: ctx.workflowId, from, to, amount };
      await ctx.send(AUDIT_MAILBOX, audit, { topic: 'transfer' });
      return 'done';
    },
  );
}

export interface Loop {
  stop(): Promise<void>;
}

/** What a loop reports about the failures it retried past. */
export type OnError = (what: 'start' | 'consume', err: unknown) => void;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The driver of one slot: starts the slot's transfers as they fall due. A failed start is
 * retried with the same id (the id is the idempotency key); a restarted driver starts its
 * slot's due transfers again, which finds the ones already started.
 */
export function startDriver(os: TableOS, transfer: Transfer, slot: number, onError: OnError): Loop {
  let stopped = false;
  let after = -1;
  const done = (async () => {
    while (!stopped) {
      try {
        const due = await os.sql<
          { n: number; id: string; f: number; t: number; a: string; p: number }[]
        >`
          select n, id, from_account f, to_account t, amount::text a, pause_ms p from bank_plan
           where slot = ${slot} and n > ${after} and due_at <= now() order by n limit 200`;
        await Promise.all(
          due.map((r) => transfer.start([r.f, r.t, Number(r.a), r.p], { id: r.id })),
        );
        after = due.at(-1)?.n ?? after;
      } catch (err) {
        onError('start', err);
      }
      await pause(100);
    }
  })();
  return {
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

/**
 * A consumer of the audit mailbox: each message is taken and recorded in one transaction, so
 * it is recorded exactly once. A failed transaction leaves its messages for the next try.
 */
export function startConsumer(os: TableOS, onError: OnError): Loop {
  let stopped = false;
  const m = os.messaging;
  const done = (async () => {
    while (!stopped) {
      try {
        const watch = await m.watch(AUDIT_MAILBOX);
        const took = await os.sql.begin(async (tx) => {
          let n = 0;
          for (; n < 50; n++) {
            const msg = await m.consumeInTx<Audit>(tx, AUDIT_MAILBOX);
            if (msg === undefined) break;
            await tx`
              insert into bank_audit (workflow_id, seq, body)
              values (${msg.body.workflowId}, ${msg.seq}, ${JSON.stringify(msg.body)}::jsonb)`;
          }
          return n;
        });
        if (took === 0 && !stopped) await watch.wait(500);
      } catch (err) {
        onError('consume', err);
        await pause(100);
      }
    }
  })();
  return {
    stop: () => {
      stopped = true;
      return done;
    },
  };
}
