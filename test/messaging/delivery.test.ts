import { describe, expect, it } from 'vitest';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

/** Thrown on purpose to roll a transaction back; any other error is a failure. */
class Rollback extends Error {}

describe('delivery guarantees', () => {
  it('redelivers a leased message that was not acknowledged, and forgets an acked one', async () => {
    const os = await openTestOS({ executor: false });
    const m = os.messaging;
    await m.send('work', 'job-1');
    const first = await m.recv('work', { ack: true, leaseMs: 1000, timeoutMs: 100 });
    expect(first?.body).toBe('job-1');
    expect(first?.deliveries).toBe(1);
    // Under the lease nobody else gets it.
    expect(await m.recv('work', { timeoutMs: 50 })).toBeUndefined();
    expect((await m.stats('work'))[0]).toMatchObject({ pending: 0, leased: 1 });
    // Once the lease has run out the message counts as pending again.
    await waitFor(async () => (await m.stats('work'))[0]?.pending === 1, {
      timeoutMs: 10_000,
      what: 'the lease to run out',
    });
    expect((await m.stats('work'))[0]).toMatchObject({ pending: 1, leased: 0 });
    const again = await m.recv('work', { ack: true, leaseMs: 5000, timeoutMs: 1000 });
    expect(again?.seq).toBe(first?.seq);
    expect(again?.deliveries).toBe(2);
    expect(await m.ack([again!])).toBe(1);
    expect(await m.ack([again!])).toBe(0);
    expect((await m.stats('work'))[0]).toMatchObject({ pending: 0, leased: 0 });
  });

  it('makes a send with an id a no-op when replayed, even after the first was consumed', async () => {
    const os = await openTestOS({ executor: false });
    const m = os.messaging;
    const a = await m.send('once', 'hello', { id: 'wf-1:step-3', from: 'wf-1' });
    expect(a.duplicate).toBe(false);
    expect((await m.recv('once'))?.id).toBe('wf-1:step-3');
    const b = await m.send('once', 'hello', { id: 'wf-1:step-3', from: 'wf-1' });
    expect(b).toEqual({ seqs: [], duplicate: true });
    // The same id from another sender is another message.
    expect((await m.send('once', 'hi', { id: 'wf-1:step-3', from: 'wf-2' })).duplicate).toBe(false);
    // Concurrent replays in one batch: sent once.
    const multi = await Promise.all(
      [1, 2, 3].map(() => m.multicast(['x1', 'x2'], 'm', { id: 'k', from: 'wf-3' })),
    );
    expect(multi.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(multi.find((r) => !r.duplicate)?.seqs).toHaveLength(2);
    const [row] = await os.sql<
      { n: number }[]
    >`select count(*)::int as n from tableos.message where receiver in ('x1', 'x2')`;
    expect(row?.n).toBe(2);
  });

  it('consumes inside a caller transaction: rolled back means not consumed', async () => {
    const os = await openTestOS({ executor: false });
    await os.messaging.send('wf-inbox', { v: 1 }, { topic: 't' });
    // Taken inside a transaction that then fails, as if it crashed before its checkpoint.
    let taken: unknown;
    await expect(
      os.sql.begin(async (tx) => {
        taken = (await os.messaging.consumeInTx<{ v: number }>(tx, 'wf-inbox', { topic: 't' }))
          ?.body;
        throw new Rollback('crash before checkpoint');
      }),
    ).rejects.toBeInstanceOf(Rollback);
    expect(taken).toEqual({ v: 1 });
    expect((await os.messaging.peek('wf-inbox')).map((p) => p.body)).toEqual([{ v: 1 }]);
    const got = await os.sql.begin(async (tx) => {
      const msg = await os.messaging.consumeInTx(tx, 'wf-inbox', { topic: 't' });
      await os.messaging.sendInTx(tx, 'wf-out', 'reply', { from: 'wf-a', id: 'r1' });
      return msg;
    });
    expect(got?.body).toEqual({ v: 1 });
    expect(await os.messaging.peek('wf-inbox')).toEqual([]);
    expect(await os.sql.begin((tx) => os.messaging.consumeInTx(tx, 'never-made'))).toBeUndefined();
    const replay = await os.sql.begin((tx) =>
      os.messaging.sendInTx(tx, 'wf-out', 'reply', { from: 'wf-a', id: 'r1' }),
    );
    expect(replay).toBe(false);
    expect(await os.messaging.peek('wf-out')).toHaveLength(1);
  });

  it('expires messages past their mailbox retention and counts them', async () => {
    const os = await openTestOS({ executor: false });
    const m = os.messaging;
    await m.createMailbox('slow-reader', { retentionMs: 1000 });
    await m.createMailbox('keeper');
    await m.send('slow-reader', 1);
    await m.send('slow-reader', 2);
    await m.send('keeper', 3);
    expect(await m.expire()).toEqual([]);
    // Wait, by the database's clock, until the first two are older than the retention.
    await waitFor(
      async () => {
        const [r] = await os.sql<{ n: number }[]>`
          select count(*)::int n from tableos.message
           where receiver = 'slow-reader' and sent_at < clock_timestamp() - interval '1 second'`;
        return r?.n === 2;
      },
      { timeoutMs: 10_000, what: 'messages 1 and 2 to outlive the retention' },
    );
    await m.send('slow-reader', 4);
    expect(await m.expire()).toEqual([{ mailbox: 'slow-reader', expired: 2 }]);
    const stats = await m.stats();
    expect(stats.map((s) => [s.mailbox, s.pending, s.expired, s.retentionS])).toEqual([
      ['keeper', 1, 0, 7 * 24 * 3600],
      ['slow-reader', 1, 2, 1],
    ]);
    expect((await m.recv('slow-reader'))?.body).toBe(4);
  });

  it('lets a caller that takes messages itself wait for the next one with a watch', async () => {
    const os = await openTestOS({ executor: false });
    const other = await openTestOS({ executor: false, databaseUrl: os.config.databaseUrl });
    await os.messaging.createMailbox('wf-7');
    const idle = await os.messaging.watch('wf-7');
    expect(await idle.wait(100)).toBe(false);
    const w = await os.messaging.watch('wf-7');
    const probe = await os.messaging.watch('wf-7');
    // Sent after the watch began but before wait is awaited: still seen.
    await other.messaging.send('wf-7', 'go', { topic: 'ev' });
    // The probe shares w's LISTEN: once it has seen the notification, so has w, before w.wait.
    expect(await probe.wait(5000)).toBe(true);
    expect(await w.wait(5000)).toBe(true);
    const got = await os.sql.begin((tx) => os.messaging.consumeInTx(tx, 'wf-7', { topic: 'ev' }));
    expect(got?.body).toBe('go');
  });

  it('gives each message to exactly one of several competing receivers', async () => {
    const a = await openTestOS({ executor: false });
    const b = await openTestOS({ executor: false, databaseUrl: a.config.databaseUrl });
    const N = 200;
    await Promise.all(Array.from({ length: N }, (_, i) => a.messaging.send('shared', i)));
    const drain = async (os: typeof a, ack: boolean) => {
      const got: number[] = [];
      for (;;) {
        const batch = await os.messaging.recvBatch<number>('shared', 7, { timeoutMs: 200, ack });
        if (batch.length === 0) return got;
        if (ack) await os.messaging.ack(batch);
        got.push(...batch.map((m) => m.body));
      }
    };
    const [x, y, z] = await Promise.all([drain(a, false), drain(b, true), drain(b, false)]);
    const all = [...x, ...y, ...z].sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: N }, (_, i) => i));
  });
});
