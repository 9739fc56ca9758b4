// A DATABASE_URL naming a primary and its hot standby with target_session_attrs=read-write:
// the node writes to the primary wherever it is in the list, is told "cannot connect now"
// (a lost connection, retried) while there is none, and writes to the standby once promoted.
import getPort from 'get-port';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/kernel/config.js';
import { openDatabase } from '../../src/kernel/database.js';
import { DatabaseUnreachableError } from '../../src/kernel/errors.js';
import { silentLogger } from '../../src/kernel/logger.js';
import { isConnectionLoss } from '../../src/kernel/reconnect.js';
import { addSyncStandby, failoverUrl, initPrimary } from '../support/pg-server.js';

describe('multi-host DATABASE_URL with target_session_attrs=read-write', () => {
  it('uses the primary, reports a retryable loss while there is none, then the promoted standby', async () => {
    const primary = await initPrimary();
    await primary.start();
    const standby = await addSyncStandby(primary);
    // The standby first: postgres.js alone would take it, as a PostgreSQL 14+ hot standby
    // reports default_transaction_read_only = off.
    const url = failoverUrl([standby, primary], 'postgres');
    const db = await openDatabase(
      loadConfig({ databaseUrl: url, connectTimeoutS: 2 }),
      silentLogger,
    );
    try {
      expect(db.hosts).toEqual([`127.0.0.1:${standby.port}`, `127.0.0.1:${primary.port}`]);
      const [at] = await db.sql<{ port: number }[]>`select inet_server_port() as port`;
      expect(at?.port).toBe(primary.port);
      await db.sql`create table public.t (v int)`;
      await db.sql`insert into public.t values (1)`;

      await primary.kill();
      // Every pool connection is gone with the primary; a new one finds no writable server.
      let err: unknown;
      for (let i = 0; i < 20 && err === undefined; i++) {
        err = await db.sql`insert into public.t values (2)`.then(
          () => undefined,
          (e: unknown) => (pgCodeOf(e) === '57P03' ? e : undefined),
        );
      }
      expect(pgCodeOf(err)).toBe('57P03');
      expect(isConnectionLoss(err)).toBe(true);
      expect((err as Error).message).toContain(
        `127.0.0.1:${standby.port} is read-only (a standby)`,
      );

      await standby.promote();
      const [row] = await db.sql<{ port: number; n: number }[]>`
        insert into public.t values (3)
        returning inet_server_port() as port, (select count(*)::int from public.t) as n`;
      expect(row?.port).toBe(standby.port);
      // The row committed on the primary before it died was streamed synchronously.
      expect(row?.n).toBe(1);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('names every server when none answers at start', async () => {
    const [a, b] = [await getPort(), await getPort()];
    const url = `postgres://postgres@127.0.0.1:${a},127.0.0.1:${b}/postgres?target_session_attrs=read-write`;
    const err: unknown = await openDatabase(
      loadConfig({ databaseUrl: url, connectTimeoutS: 2 }),
      silentLogger,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnreachableError);
    expect((err as Error).message).toContain(`127.0.0.1:${a},127.0.0.1:${b}`);
  });
});

function pgCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
