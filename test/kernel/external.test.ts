// The same code against an existing PostgreSQL: the server on 127.0.0.1:5432, when there is one.
import crypto from 'node:crypto';
import postgres from 'postgres';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { listExecutors } from '../../src/kernel/executor-registry.js';
import { silentLogger } from '../../src/kernel/logger.js';
import { TableOS } from '../../src/tableos.js';
import { runCli } from '../support/cli.js';

const ADMIN =
  process.env.TABLEOS_TEST_EXTERNAL_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WHERE = `${new URL(ADMIN).hostname}:${new URL(ADMIN).port || '5432'}`;
const admin = postgres(ADMIN, { max: 1, connect_timeout: 2, onnotice: () => undefined });
// Why these tests cannot run here, or undefined when the server answered.
const missing = await admin`select 1`.then(
  () => undefined,
  (err: unknown) =>
    `no PostgreSQL at ${WHERE} (${err instanceof Error ? err.message : String(err)})`,
);
const available = missing === undefined;
// The default reporter only counts skipped tests; say here why these are.
if (missing !== undefined) console.warn(`test/kernel/external.test.ts skipped: ${missing}`);
const db = `tableos_ext_${crypto.randomBytes(4).toString('hex')}`;
let url = '';
if (available) {
  await admin.unsafe(`create database ${db}`);
  const u = new URL(ADMIN);
  u.pathname = `/${db}`;
  url = u.toString();
}

afterAll(async () => {
  if (available) await admin.unsafe(`drop database if exists ${db} with (force)`);
  await admin.end();
});

/** Skips the test, with the reason in the report, when there is no server to run it on. */
function needServer(ctx: TestContext): void {
  if (missing !== undefined) ctx.skip(`skipped: ${missing}`);
}

describe(`existing PostgreSQL at ${WHERE}${available ? '' : ' (skipped: none there)'}`, () => {
  it('opens, migrates and registers an executor there', async (ctx) => {
    needServer(ctx);
    const os = await TableOS.open({ databaseUrl: url, logger: silentLogger });
    try {
      expect(os.db.kind).toBe('external');
      expect(os.db.port).toBe(5432);
      expect(Number(os.db.serverVersion.split('.')[0])).toBeGreaterThanOrEqual(15);
      expect(os.schemaVersion).toMatch(/^\d{4}_/);
      expect((await listExecutors(os.sql)).map((e) => e.id)).toEqual([os.executor!.id]);
      expect(await os.call('tableos.noop')).toEqual([{ noop: null }]);
    } finally {
      await os.close();
    }
  });

  it('is used by the command through DATABASE_URL and through PG* variables', async (ctx) => {
    needServer(ctx);
    const viaUrl = await runCli(['status', '--json'], { DATABASE_URL: url });
    expect(viaUrl.code, viaUrl.stderr).toBe(0);
    expect(JSON.parse(viaUrl.stdout)).toMatchObject({
      database: { kind: 'external', port: 5432, database: db },
    });
    const viaPg = await runCli(['status', '--json'], {
      DATABASE_URL: undefined,
      PGHOST: '127.0.0.1',
      PGPORT: '5432',
      PGUSER: 'postgres',
      PGDATABASE: db,
    });
    expect(viaPg.code, viaPg.stderr).toBe(0);
    expect(JSON.parse(viaPg.stdout)).toMatchObject({
      database: { kind: 'external', database: db },
    });
  });

  it("reaches it over its Unix-domain socket with libpq's ?host=/dir", async (ctx) => {
    needServer(ctx);
    const [row] = await admin<
      { dirs: string }[]
    >`select current_setting('unix_socket_directories') dirs`;
    const dir = row!.dirs.split(',')[0]!.trim();
    if (!dir.startsWith('/')) ctx.skip(`skipped: the server at ${WHERE} has no socket directory`);
    const port = new URL(ADMIN).port || '5432';
    const user = new URL(ADMIN).username;
    const os = await TableOS.open({
      databaseUrl: `postgres://${user}@/${db}?host=${encodeURIComponent(dir)}&port=${port}&sslmode=disable`,
      logger: silentLogger,
    });
    try {
      expect(os.db.host).toBe(dir);
      expect(os.db.database).toBe(db);
      // A socket connection has no client address; a TCP one would.
      const [c] = await os.sql<{ addr: string | null }[]>`select inet_client_addr()::text addr`;
      expect(c!.addr).toBeNull();
      expect(await os.call('tableos.noop')).toEqual([{ noop: null }]);
    } finally {
      await os.close();
    }
  });
});
