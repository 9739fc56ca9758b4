// The primitives messaging builds ctx.send/ctx.recv on: transactionalCall and durableWait.
import { describe, expect, it } from 'vitest';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('workflow primitives for other services', () => {
  it('transactionalCall commits the effect with its checkpoint; durableWait wakes on NOTIFY or times out', async () => {
    // The slow poll is off, so only a NOTIFY can end the first wait before its 10 s timeout.
    const os = await openTestOS({ workflows: { pollMs: 600_000 } });
    await os.sql`create table outbox (key text primary key, body text)`;
    await os.sql`create table inbox (body text)`;
    let checks = 0;
    const flow = os.workflows.workflow('mailer', async (ctx) => {
      const key = `${ctx.workflowId}:${ctx.nextSeq}`;
      await ctx.transactionalCall('send', 'outbox', async (tx) => {
        await tx`insert into outbox values (${key}, 'hello')`;
        return key;
      });
      const got = await ctx.durableWait({
        channel: 'test_inbox',
        timeoutMs: 10_000,
        ready: async () => {
          const found = (await os.sql`select 1 from inbox`).length > 0;
          checks++;
          return found;
        },
      });
      const late = await ctx.durableWait({
        channel: 'test_inbox',
        timeoutMs: 50,
        ready: () => Promise.resolve(false),
      });
      const body = await ctx.transactionalCall('recv', 'inbox', async (tx) => {
        const [r] = await tx<{ body: string }[]>`delete from inbox returning body`;
        return r?.body;
      });
      return { key, got, late, body };
    });
    const h = await flow.start([], { id: 'm-1' });
    // Once its first check found nothing, the wait is LISTENing and asleep until notified.
    await waitFor(() => checks > 0, { what: 'the wait to check once' });
    await os.sql`insert into inbox values ('ping')`;
    await os.sql`select pg_notify('test_inbox', 'x')`;
    expect(await h.result({ timeoutMs: 5000 })).toEqual({
      key: 'm-1:0',
      got: true,
      late: false,
      body: 'ping',
    });
    const steps = await os.workflows.steps('m-1');
    expect(steps.map((s) => `${s.seq} ${s.kind} ${s.name}`)).toEqual([
      '0 send outbox',
      '1 wait test_inbox',
      '2 wait test_inbox',
      '3 recv inbox',
    ]);
    // Replayed in full by a fork: nothing is sent or consumed again, the recorded deadlines hold.
    await os.sql`insert into inbox values ('second')`;
    await os.workflows.fork('m-1', { newId: 'm-2' });
    expect(await os.workflows.handle('m-2').result({ timeoutMs: 5000 })).toEqual({
      key: 'm-2:0',
      got: true,
      late: false,
      body: 'ping',
    });
    expect(await os.sql`select key from outbox`).toEqual([{ key: 'm-1:0' }]);
    expect(await os.sql`select body from inbox`).toEqual([{ body: 'second' }]);
  });
});
