import { describe, expect, it } from 'vitest';
import { CallTimeoutError, RemoteError } from '../../src/messaging/errors.js';
import { openTestOS } from '../support/db.js';

describe('request/response', () => {
  it('answers calls from another node, many at once, with every message on record', async () => {
    const server = await openTestOS({ executor: false });
    const client = await openTestOS({ executor: false, databaseUrl: server.config.databaseUrl });
    const seen: string[] = [];
    const srv = await server.messaging.serve<{ a: number; b: number }, number>(
      'adder',
      (req, msg) => {
        seen.push(msg.sender);
        return req.a + req.b;
      },
    );
    expect(await client.messaging.call('adder', { a: 2, b: 3 })).toBe(5);
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.messaging.call<number>('adder', { a: i, b: 1 })),
    );
    expect(many).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(seen)).toEqual(new Set([client.messaging.address]));
    // Requests were deleted with their replies; replies are acked shortly after.
    expect(
      await eventually(async () => {
        const [row] = await server.sql<
          { n: number }[]
        >`select count(*)::int as n from tableos.message`;
        return row?.n === 0;
      }),
    ).toBe(true);
    await srv.stop();
  });

  it('reports a failing handler as RemoteError and a missing server as a timeout', async () => {
    const os = await openTestOS({ executor: false });
    const srv = await os.messaging.serve('fails', (req: string) => {
      if (req === 'bad') throw new Error('bad request: no');
      return req.toUpperCase();
    });
    const e = await os.messaging.call('fails', 'bad').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as Error).message).toMatch(/service "fails" failed: bad request: no/);
    expect(await os.messaging.call('fails', 'good')).toBe('GOOD');
    await srv.stop();
    const t = await os.messaging.call('fails', 'x', { timeoutMs: 200 }).catch((x: unknown) => x);
    expect(t).toBeInstanceOf(CallTimeoutError);
    // The unanswered request stays in the mailbox for a later server.
    const left = await os.messaging.peek('fails');
    expect(left.map((m) => [m.body, m.topic])).toEqual([['x', 'rpc']]);
    const srv2 = await os.messaging.serve('fails', (req: string) => req + '!');
    expect(await eventually(async () => (await os.messaging.peek('fails')).length === 0)).toBe(
      true,
    );
    await srv2.stop();
  });

  it('carries large replies that do not fit in a notification', async () => {
    const os = await openTestOS({ executor: false });
    const srv = await os.messaging.serve('big', (n: number) => 'z'.repeat(n));
    expect(await os.messaging.call<string>('big', 20_000)).toHaveLength(20_000);
    await srv.stop();
  });

  it('serves several services from one process and stops them one by one', async () => {
    const os = await openTestOS({ executor: false });
    const m = os.messaging;
    const a = await m.serve('svc-a', (x: number) => x + 1);
    const b = await m.serve('svc-b', (x: number) => x * 10);
    await expect(m.serve('svc-a', (x: number) => x)).rejects.toThrow(/already served/);
    expect(await Promise.all([m.call('svc-a', 1), m.call('svc-b', 2), m.call('svc-a', 3)])).toEqual(
      [2, 20, 4],
    );
    await a.stop();
    expect(await m.call('svc-b', 5)).toBe(50);
    await expect(m.call('svc-a', 1, { timeoutMs: 300 })).rejects.toBeInstanceOf(CallTimeoutError);
    await b.stop();
    // Served again after every loop stopped.
    const a2 = await m.serve('svc-a', (x: number) => -x);
    expect(await m.call('svc-a', 7)).toBe(-7);
    await a2.stop();
  });

  it('shares requests between two servers of one service, each answered once', async () => {
    const client = await openTestOS({ executor: false });
    const url = client.config.databaseUrl;
    const s1 = await openTestOS({ executor: false, databaseUrl: url });
    const s2 = await openTestOS({ executor: false, databaseUrl: url });
    const handled: string[] = [];
    const servers = await Promise.all(
      [s1, s2].map((os, k) =>
        os.messaging.serve('shared-svc', (n: number) => {
          handled.push(`${k}:${n}`);
          return n * n;
        }),
      ),
    );
    const N = 100;
    const out = await Promise.all(
      Array.from({ length: N }, (_, i) => client.messaging.call<number>('shared-svc', i)),
    );
    expect(out).toEqual(Array.from({ length: N }, (_, i) => i * i));
    expect(handled).toHaveLength(N);
    expect(new Set(handled.map((h) => h.split(':')[1])).size).toBe(N);
    for (const s of servers) await s.stop();
  });
});

/** Polls cond for up to 5 s; true as soon as it holds. */
async function eventually(cond: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}
