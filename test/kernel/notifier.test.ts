// The one LISTEN connection of a process, and the wait helper on top of it.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/kernel/logger.js';
import { Notifier } from '../../src/kernel/notifier.js';
import { waitUntil } from '../../src/kernel/wait.js';
import { openTestOS } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('notifier', () => {
  it('drops idle channels and listens again when one is used anew', async () => {
    const os = await openTestOS({ executor: false });
    const n = new Notifier(() => os.db.newPool({ max: 1 }), silentLogger, { lingerMs: 100 });
    try {
      await n.listen('chan_idle');
      await n.subscribe('chan_kept', () => undefined);
      expect(n.listening().sort()).toEqual(['chan_idle', 'chan_kept']);
      await waitFor(() => n.listening().length === 1, { timeoutMs: 10_000 });
      expect(n.listening()).toEqual(['chan_kept']);

      await n.listen('chan_idle');
      const gen = n.generation('chan_idle');
      const woke = n.waitChange('chan_idle', gen, 60_000);
      await os.sql`select pg_notify('chan_idle', 'x')`;
      await woke;
      expect(n.generation('chan_idle')).not.toBe(gen);
    } finally {
      await n.close();
      await os.close();
    }
  });

  it('multiplexes channels on one connection and hands each subscriber its payloads', async () => {
    const os = await openTestOS({ executor: false });
    const n = new Notifier(() => os.db.newPool({ max: 1 }), silentLogger);
    try {
      const a: string[] = [];
      const b: string[] = [];
      const offA = await n.subscribe('chan_a', (p) => a.push(p));
      await n.subscribe('chan_b', (p) => b.push(p));
      const [row] = await os.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and query ilike 'listen%'`;
      // Both LISTENs went over one backend: the last statement it ran was one of them.
      expect(row?.n).toBe(1);
      await os.sql`select pg_notify('chan_a', '1'), pg_notify('chan_b', '2')`;
      await waitFor(() => a.length === 1 && b.length === 1);
      expect([a, b]).toEqual([['1'], ['2']]);
      offA();
      await os.sql`select pg_notify('chan_a', '3'), pg_notify('chan_b', '4')`;
      await waitFor(() => b.length === 2);
      expect(a).toEqual(['1']);
    } finally {
      await n.close();
      await os.close();
    }
  });

  it('listens again after its backend is terminated, and tells subscribers to re-check', async () => {
    const os = await openTestOS({ executor: false });
    const n = new Notifier(() => os.db.newPool({ max: 1 }), silentLogger);
    try {
      const got: string[] = [];
      let relistens = 0;
      await n.subscribe('chan_r', { onPayload: (p) => got.push(p), onRelisten: () => relistens++ });
      const killed = await os.sql<{ ok: boolean }[]>`
        select pg_terminate_backend(pid) as ok from pg_stat_activity
        where datname = current_database() and query ilike 'listen%' and pid <> pg_backend_pid()`;
      expect(killed.length).toBe(1);
      await waitFor(() => relistens === 1, { timeoutMs: 30_000 });
      await os.sql`select pg_notify('chan_r', 'after')`;
      await waitFor(() => got.length === 1);
      expect(got).toEqual(['after']);
    } finally {
      await n.close();
      await os.close();
    }
  });

  it('waitUntil returns what the attempt found, woken by a notification, or undefined at the deadline', async () => {
    const os = await openTestOS({ executor: false });
    const n = new Notifier(() => os.db.newPool({ max: 1 }), silentLogger);
    try {
      await os.sql`create table flag (v text)`;
      const attempt = async () => (await os.sql<{ v: string }[]>`select v from flag`)[0]?.v;
      const none = await waitUntil(n, attempt, {
        channel: 'chan_w',
        deadline: Date.now() + 50,
        pollMs: 10,
      });
      expect(none).toBeUndefined();
      // A long poll: only the notification can end the wait in time for the test.
      const waiting = waitUntil(n, attempt, {
        channel: 'chan_w',
        deadline: Infinity,
        pollMs: 600_000,
        filter: (p) => p === 'mine',
      });
      await waitFor(() => n.listening().includes('chan_w'));
      await os.sql`insert into flag values ('set')`;
      await os.sql`select pg_notify('chan_w', 'other')`;
      await os.sql`select pg_notify('chan_w', 'mine')`;
      expect(await waiting).toBe('set');
    } finally {
      await n.close();
      await os.close();
    }
  });
});
