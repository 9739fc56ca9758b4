// The chaos test's counters, on runs that finished without chaos and then on effects altered
// by hand: each kind of loss or duplicate the chaos test asserts to be 0 must be counted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import { AUDIT_MAILBOX, createBank, registerBank, startConsumer } from './bank.js';
import { count, progress } from './checks.js';

describe('chaos counters', () => {
  it('count clean runs as clean, and find lost, duplicated and unbalanced effects', async () => {
    const tos = await openTestOS();
    await createBank(tos, 5, 100);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-chaos-checks-'));
    const receipts = path.join(dir, 'receipts.log');
    fs.writeFileSync(receipts, '');
    const transfer = registerBank(tos, receipts);
    const failures: unknown[] = [];
    const consumer = startConsumer(tos, (_, err) => failures.push(err));
    try {
      const ids = ['transfer-a', 'transfer-b', 'transfer-c', 'transfer-d'];
      const results = await Promise.all(
        ids.map(async (id, i) => (await transfer.start([i + 1, i + 2, 10, 0], { id })).result()),
      );
      expect(results).toEqual(['done', 'done', 'done', 'done']);
      await waitFor(
        async () => {
          const [a] = await tos.sql<{ n: number }[]>`select count(*)::int n from bank_audit`;
          return a!.n === 4 && (await progress(tos.sql)).undrained === 0;
        },
        { what: 'the audit messages to be recorded' },
      );
    } finally {
      await consumer.stop();
    }
    expect(failures).toEqual([]);
    const o = { planned: 4, accounts: 5, balance: 100, receipts };
    expect(await count(tos.sql, o)).toEqual({
      workflows: {
        planned: 4,
        started: 4,
        succeeded: 4,
        errored: 0,
        pending: 0,
        other: 0,
        errors: {},
        recoveries: 0,
      },
      procedureEffects: { lost: 0, duplicated: 0, ofUnsuccessfulRuns: 0 },
      balances: { conserved: true, total: 500, expectedTotal: 500, accountsOff: 0 },
      audit: { missing: 0, duplicated: 0, undrained: 0 },
      stepEffects: { duplicated: 0, missing: 0 },
    });

    await tos.sql`insert into bank_ledger select * from bank_ledger where workflow_id = 'transfer-a'`;
    await tos.sql`delete from bank_ledger where workflow_id = 'transfer-b'`;
    await tos.sql`update bank_account set balance = balance + 1 where id = 5`;
    await tos.sql`insert into bank_audit select * from bank_audit where workflow_id = 'transfer-c'`;
    await tos.sql`delete from bank_audit where workflow_id = 'transfer-d'`;
    await tos.messaging.send(AUDIT_MAILBOX, {
      workflowId: 'transfer-x',
      from: 1,
      to: 2,
      amount: 1,
    });
    fs.writeFileSync(receipts, 'transfer-a\ntransfer-a\ntransfer-c\ntransfer-d\n');
    const bad = await count(tos.sql, o);
    expect(bad.procedureEffects).toEqual({ lost: 1, duplicated: 1, ofUnsuccessfulRuns: 0 });
    // Accounts 1-3 disagree with the ledger, account 5 with its start; the total is one over.
    expect(bad.balances).toEqual({
      conserved: false,
      total: 501,
      expectedTotal: 500,
      accountsOff: 4,
    });
    expect(bad.audit).toEqual({ missing: 1, duplicated: 1, undrained: 1 });
    expect(bad.stepEffects).toEqual({ duplicated: 1, missing: 1 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
