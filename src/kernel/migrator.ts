// Applies the numbered sql/NNNN_*.sql files in order, each in one transaction with its
// ledger row, under an advisory lock, and refuses a database whose history disagrees.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MigrationChangedError,
  MigrationFailedError,
  MigrationMissingError,
  TableOSError,
} from './errors.js';
import type { Logger } from './logger.js';
import type { Sql } from './database.js';

export interface Migration {
  name: string;
  checksum: string;
  text: string;
}

export interface MigrateResult {
  applied: string[];
  /** Name of the newest migration now in the database. */
  version: string | undefined;
}

/** Key of the advisory lock held while migrating ('tableos' as a number). */
const MIGRATE_LOCK = 0x7461626c656f73n;
const FILE_PATTERN = /^(\d{4})_[a-z0-9_]+\.sql$/;

export const defaultMigrationsDir = fileURLToPath(new URL('../../sql', import.meta.url));

export function loadMigrations(dir: string = defaultMigrationsDir): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => FILE_PATTERN.test(f))
    .sort()
    .map((f) => {
      const text = fs.readFileSync(path.join(dir, f), 'utf8').replace(/\r\n/g, '\n');
      return { name: f.replace(/\.sql$/, ''), checksum: sha256(text), text };
    });
}

export async function migrate(
  sql: Sql,
  log: Logger,
  migrations = loadMigrations(),
): Promise<MigrateResult> {
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATE_LOCK.toString()}::bigint)`;
    try {
      await conn
        .unsafe(
          `
        create schema if not exists tableos;
        create table if not exists tableos.migration (
          name text primary key,
          checksum text not null,
          applied_at timestamptz not null default now()
        );`,
        )
        .simple();
      const ledger = await conn<{ name: string; checksum: string }[]>`
        select name, checksum from tableos.migration order by name`;
      const pending = verify(ledger, migrations);
      const applied: string[] = [];
      for (const m of pending) {
        await applyOne(conn, m);
        applied.push(m.name);
        log.info({ migration: m.name }, 'migration applied');
      }
      return { applied, version: migrations.at(-1)?.name ?? ledger.at(-1)?.name };
    } finally {
      await conn`select pg_advisory_unlock(${MIGRATE_LOCK.toString()}::bigint)`;
    }
  } finally {
    conn.release();
  }
}

/** The ledger must be a prefix of the files, name for name and checksum for checksum. */
function verify(ledger: { name: string; checksum: string }[], files: Migration[]): Migration[] {
  const byName = new Map(files.map((m) => [m.name, m]));
  ledger.forEach((row, i) => {
    const file = byName.get(row.name);
    if (file === undefined) throw new MigrationMissingError(row.name);
    if (file.checksum !== row.checksum) {
      throw new MigrationChangedError(
        row.name,
        `has changed since it was applied (checksum ${row.checksum.slice(0, 12)}, file now ${file.checksum.slice(0, 12)})`,
      );
    }
    const expected = files[i];
    if (expected !== undefined && expected.name !== row.name) {
      throw new MigrationChangedError(
        expected.name,
        `is new but sorts before the applied migration ${row.name}`,
      );
    }
  });
  return files.slice(ledger.length);
}

async function applyOne(conn: Sql, m: Migration): Promise<void> {
  await conn.unsafe('begin');
  try {
    await conn.unsafe(m.text).simple();
    await conn`insert into tableos.migration (name, checksum) values (${m.name}, ${m.checksum})`;
    await conn.unsafe('commit');
  } catch (cause) {
    await conn.unsafe('rollback').catch(() => undefined);
    if (cause instanceof TableOSError) throw cause;
    throw new MigrationFailedError(m.name, { cause });
  }
}

function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}
