// Per-test-file databases cloned from the migrated template, and TableOS nodes on them.
import crypto from 'node:crypto';
import postgres from 'postgres';
import { afterAll, inject } from 'vitest';
import { silentLogger } from '../../src/kernel/logger.js';
import { TableOS, type OpenOptions } from '../../src/tableos.js';
import { withDatabase } from './global-setup.js';

const created: string[] = [];
const opened: TableOS[] = [];
let admin: postgres.Sql | undefined;

function adminSql(): postgres.Sql {
  admin ??= postgres(inject('adminUrl'), { max: 2, onnotice: () => undefined });
  return admin;
}

/** A fresh database for this test file: migrated (cloned from the template) or, with empty, bare. */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<string> {
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const template = opts.empty ? 'template0' : inject('templateDb');
  await adminSql().unsafe(`create database ${name} template ${template}`);
  created.push(name);
  return withDatabase(inject('adminUrl'), name);
}

/** Opens a TableOS node on its own cloned database (or on databaseUrl), closed after the file. */
export async function openTestOS(opts: OpenOptions = {}): Promise<TableOS> {
  const databaseUrl = opts.databaseUrl ?? (await createTestDatabase());
  const os = await TableOS.open({
    logger: silentLogger,
    heartbeatMs: 200,
    leaseMs: 1000,
    ...opts,
    databaseUrl,
  });
  opened.push(os);
  return os;
}

afterAll(async () => {
  for (const os of opened.splice(0)) await os.close().catch(() => undefined);
  for (const name of created.splice(0)) {
    await adminSql()
      .unsafe(`drop database if exists ${name} with (force)`)
      .catch(() => undefined);
  }
  await admin?.end();
  admin = undefined;
});

/** The URL of the database a node uses, for a second connection to it (e.g. one that kills its backends). */
export async function databaseUrlOf(os: { sql: postgres.Sql }): Promise<string> {
  const [row] = await os.sql<{ db: string }[]>`select current_database() as db`;
  const o = os.sql.options as unknown as {
    host: string[];
    port: number[];
    user: string;
    pass?: string;
  };
  const u = new URL('postgres://localhost');
  u.hostname = o.host[0] ?? 'localhost';
  u.port = String(o.port[0] ?? 5432);
  u.username = o.user;
  if (o.pass) u.password = o.pass;
  u.pathname = `/${row!.db}`;
  return u.toString();
}
