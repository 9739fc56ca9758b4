import { describe, expect, it } from 'vitest';
import { channelFor } from '../../src/messaging/workflow.js';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('send and receive', () => {
  it('keeps FIFO order per sender-receiver pair, across batches and interleaved senders', async () => {
    const os = await openTestOS({ executor: false });
    const m = os.messaging;
    // Concurrent sends from two senders go through the group-commit queue together.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        m.send('inbox', { n: i, from: i % 2 ? 'odd' : 'even' }, { from: i % 2 ? 'odd' : 'even' }),
      ),
    );
    const got = await m.recvBatch<{ n: number }>('inbox', 100, { timeoutMs: 1000 });
    expect(got).toHaveLength(40);
    for (const sender of ['odd', 'even']) {
      const ns = got.filter((g) => g.sender === sender).map((g) => g.body.n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
      expect(ns).toHaveLength(20);
    }
    expect(got.map((g) => g.body.n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await m.peek('inbox')).toEqual([]);
  });

  it('filters by topic, peeks without consuming, and consumes on read', async () => {
    const os = await openTestOS({ executor: false });
    const m = os.messaging;
    await m.send('box', 'a1', { topic: 'alpha' });
    await m.send('box', 'b1', { topic: 'beta' });
    await m.send('box', 'none');
    const peeked = await m.peek('box');
    expect(peeked.map((p) => [p.body, p.topic])).toEqual([
      ['a1', 'alpha'],
      ['b1', 'beta'],
      ['none', undefined],
    ]);
    const b = await m.recv('box', { topic: 'beta', timeoutMs: 100 });
    expect(b?.body).toBe('b1');
    expect(b?.deliveries).toBe(1);
    expect(b?.sender).toBe(m.address);
    expect(await m.recv('box', { topic: 'beta', timeoutMs: 50 })).toBeUndefined();
    expect((await m.recv('box'))?.body).toBe('a1');
    expect((await m.recv('box'))?.body).toBe('none');
    const [s] = await m.stats('box');
    expect(s?.pending).toBe(0);
  });

  it('blocks in recv until a message is sent from another node, woken by NOTIFY', async () => {
    const receiver = await openTestOS({ executor: false });
    const sender = await openTestOS({ executor: false, databaseUrl: dbUrl(receiver) });
    await receiver.messaging.createMailbox('waiter');
    const pending = receiver.messaging.recv<string>('waiter', { timeoutMs: 20_000 });
    // Sent once the receiver waits on the mailbox's channel, so recv has to be woken for it.
    await waitFor(() => receiver.kernel.notifier.listening().includes(channelFor('waiter')), {
      what: 'recv to listen',
    });
    await sender.messaging.send('waiter', 'wake up');
    const got = await pending;
    expect(got?.body).toBe('wake up');
  });

  it('returns undefined when the timeout passes without a message', async () => {
    const os = await openTestOS({ executor: false });
    await os.messaging.createMailbox('quiet');
    const t0 = Date.now();
    expect(await os.messaging.recv('quiet', { timeoutMs: 250 })).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
    expect(await os.messaging.recvBatch('quiet', 5, { timeoutMs: 50 })).toEqual([]);
  });

  it('multicasts in one transaction: every receiver gets it, or none does', async () => {
    const os = await openTestOS({ executor: false });
    const m = os.messaging;
    const r = await m.multicast(['m1', 'm2', 'm3'], { hello: 'all' });
    expect(r.seqs).toHaveLength(3);
    for (const box of ['m1', 'm2', 'm3']) {
      expect((await m.recv(box, { timeoutMs: 100 }))?.body).toEqual({ hello: 'all' });
    }
    // A failure at the third receiver must roll back the first two.
    await os.sql`create function public.boom() returns trigger language plpgsql as $$
      begin if new.receiver = 'boom' then raise exception 'refused'; end if; return new; end $$`;
    await os.sql`create trigger boom before insert on tableos.message_p0 for each row execute function public.boom()`;
    await os.sql`create trigger boom before insert on tableos.message_p1 for each row execute function public.boom()`;
    for (let p = 2; p < 8; p++) {
      await os.sql.unsafe(
        `create trigger boom before insert on tableos.message_p${p} for each row execute function public.boom()`,
      );
    }
    await expect(m.multicast(['m1', 'm2', 'boom'], 'partial?')).rejects.toThrow(/refused/);
    const [row] = await os.sql<{ n: number }[]>`select count(*)::int as n from tableos.message`;
    expect(row?.n).toBe(0);
    expect((await m.stats()).map((s) => s.mailbox)).toEqual(['m1', 'm2', 'm3']);
  });

  it('receives batches across mailboxes with one statement per batch', async () => {
    const os = await openTestOS({ executor: false });
    const m = os.messaging;
    await m.multicast(
      Array.from({ length: 10 }, (_, i) => `fan${i}`),
      'x',
    );
    const got = await Promise.all(
      Array.from({ length: 10 }, (_, i) => m.recv(`fan${i}`, { timeoutMs: 1000 })),
    );
    expect(got.map((g) => g?.mailbox)).toEqual(Array.from({ length: 10 }, (_, i) => `fan${i}`));
    const two = await Promise.all([
      m.recv('fan0', { timeoutMs: 100 }),
      m.recv('fan1', { timeoutMs: 100 }),
    ]);
    expect(two).toEqual([undefined, undefined]);
  });

  it('keeps messages across a restart of both ends', async () => {
    const first = await openTestOS({ executor: false });
    const url = dbUrl(first);
    await first.messaging.send('durable', { kept: true }, { topic: 'x' });
    await first.close();
    const second = await openTestOS({ executor: false, databaseUrl: url });
    const got = await second.messaging.recv('durable', { timeoutMs: 1000 });
    expect(got).toMatchObject({ body: { kept: true }, topic: 'x', mailbox: 'durable' });
  });
});

function dbUrl(os: { config: { databaseUrl?: string | undefined } }): string {
  const url = os.config.databaseUrl;
  if (url === undefined) throw new Error('test node has no database URL');
  return url;
}
