import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, QueryError } from '../../src/kernel/errors.js';
import { ExecutorRegistry, listExecutors } from '../../src/kernel/executor-registry.js';
import { silentLogger } from '../../src/kernel/logger.js';
import { openTestOS, databaseUrlOf } from '../support/db.js';
import { waitFor } from '../support/wait.js';

describe('executor registry', () => {
  it('registers this node with host, pid, version and a lease', async () => {
    const os = await openTestOS();
    const rows = await listExecutors(os.sql);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.id).toBe(os.executor!.id);
    expect(row.pid).toBe(process.pid);
    expect(row.status).toBe('alive');
    expect(row.lease_until.getTime()).toBeGreaterThan(row.heartbeat_at.getTime());
  });

  it('keeps the lease alive with heartbeats', async () => {
    const os = await openTestOS({ heartbeatMs: 100, leaseMs: 400 });
    const before = (await listExecutors(os.sql))[0]!;
    // Beats until the lease has been renewed past where the first one ended: no lapse between.
    await waitFor(async () => (await listExecutors(os.sql))[0]!.heartbeat_at > before.lease_until, {
      timeoutMs: 10_000,
      what: 'heartbeats beyond the first lease',
    });
    const after = (await listExecutors(os.sql))[0]!;
    expect(after.status).toBe('alive');
    expect(after.id).toBe(before.id);
    expect(after.heartbeat_at.getTime()).toBeGreaterThan(before.heartbeat_at.getTime());
  });

  it('marks an executor whose lease ran out dead, in SQL, and announces it', async () => {
    const os = await openTestOS({ heartbeatMs: 100, leaseMs: 400 });
    // A second executor that registers and then never beats again, as if killed.
    const ghost = new ExecutorRegistry(os.sql, silentLogger, {
      heartbeatMs: 60_000,
      leaseMs: 300,
      version: 'x',
      id: 'ghost-1',
    });
    const notices: string[] = [];
    const listener = await os.sql.listen('tableos_executor', (p) => notices.push(p));
    await ghost.register();
    const deadNotice = () =>
      notices.some((n) => {
        const e = JSON.parse(n) as { id: string; status: string };
        return e.id === 'ghost-1' && e.status === 'dead';
      });
    await waitFor(deadNotice, { timeoutMs: 10_000, what: 'ghost-1 to be announced dead' });
    const all = await listExecutors(os.sql, { all: true });
    expect(all.find((e) => e.id === 'ghost-1')?.status).toBe('dead');
    expect(all.find((e) => e.id === os.executor!.id)?.status).toBe('alive');
    expect(notices.map((n) => JSON.parse(n) as { id: string; status: string })).toContainEqual({
      id: 'ghost-1',
      status: 'dead',
    });
    await listener.unlisten();
    await ghost.stop();
  });

  it('re-registers under a new id when its own lease was lost', async () => {
    const os = await openTestOS({ executor: false });
    const reg = new ExecutorRegistry(os.sql, silentLogger, {
      heartbeatMs: 60_000,
      leaseMs: 300,
      version: 'x',
    });
    await reg.register();
    const old = reg.id;
    const lost = new Promise<[string, string]>((r) =>
      reg.once('lost', (a: string, b: string) => r([a, b])),
    );
    // Until the lease has run out, by the database's clock.
    await waitFor(
      async () => {
        const [r] = await os.sql<{ over: boolean }[]>`
          select lease_until < clock_timestamp() as over from tableos.executor where id = ${old}`;
        return r?.over === true;
      },
      { timeoutMs: 10_000, what: 'the lease to run out' },
    );
    await os.call('tableos.executor_reap');
    expect(await reg.heartbeat()).toBe('dead');
    const [from, to] = await lost;
    expect(from).toBe(old);
    expect(to).not.toBe(old);
    const all = await listExecutors(os.sql, { all: true });
    expect(all.find((e) => e.id === old)?.status).toBe('dead');
    expect(all.find((e) => e.id === to)?.status).toBe('alive');
    await reg.stop();
  });

  it('marks the executor stopped on close', async () => {
    const os = await openTestOS();
    const id = os.executor!.id;
    const watcher = await openTestOS({ executor: false, databaseUrl: await databaseUrlOf(os) });
    await os.close();
    const row = (await listExecutors(watcher.sql, { all: true })).find((e) => e.id === id);
    expect(row?.status).toBe('stopped');
    expect(row?.ended_at).toBeInstanceOf(Date);
  });

  it('rejects a malformed executor id and writes nothing', async () => {
    const os = await openTestOS({ executor: false });
    const err = await os
      .call('tableos.executor_register', "x'; drop table tableos.executor; --", 'h', 1, 'v', 1000)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).cause).toBeInstanceOf(QueryError);
    expect((err as Error).message).toMatch(/invalid executor id/);
    expect(await listExecutors(os.sql, { all: true })).toEqual([]);
  });
});
