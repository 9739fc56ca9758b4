import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MigrationChangedError,
  MigrationFailedError,
  MigrationMissingError,
} from '../../src/kernel/errors.js';
import { silentLogger } from '../../src/kernel/logger.js';
import { defaultMigrationsDir, loadMigrations, migrate } from '../../src/kernel/migrator.js';
import { runCli } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

const pools: postgres.Sql[] = [];
const connect = (url: string) => {
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  pools.push(sql);
  return sql;
};
afterAll(async () => {
  for (const p of pools) await p.end();
});

function copyMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-mig-'));
  for (const f of fs.readdirSync(defaultMigrationsDir)) {
    if (/^\d{4}_.*\.sql$/.test(f))
      fs.copyFileSync(path.join(defaultMigrationsDir, f), path.join(dir, f));
  }
  return dir;
}

const ledger = (sql: postgres.Sql) =>
  sql<{ name: string }[]>`select name from tableos.migration order by name`.then((r) =>
    r.map((x) => x.name),
  );

describe('migrator', () => {
  it('applies every migration once, in order, then nothing', async () => {
    const sql = connect(await createTestDatabase({ empty: true }));
    const files = loadMigrations().map((m) => m.name);
    expect(files[0]).toBe('0001_kernel');
    const first = await migrate(sql, silentLogger);
    expect(first.applied).toEqual(files);
    expect(first.version).toBe(files.at(-1));
    const second = await migrate(sql, silentLogger);
    expect(second.applied).toEqual([]);
    expect(await ledger(sql)).toEqual(files);
  });

  it('migrates exactly once when two processes start at the same time', async () => {
    const url = await createTestDatabase({ empty: true });
    const env = { DATABASE_URL: url };
    const [a, b] = await Promise.all([runCli(['migrate'], env), runCli(['migrate'], env)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const files = loadMigrations().map((m) => m.name);
    // Each file was applied by exactly one of the two.
    const appliedLines = (a.stdout + b.stdout).split('\n').filter((l) => l.startsWith('applied '));
    expect(appliedLines.sort()).toEqual(files.map((f) => `applied ${f}`).sort());
    const sql = connect(url);
    expect(await ledger(sql)).toEqual(files);
  });

  it('refuses a database whose applied migration was changed', async () => {
    const sql = connect(await createTestDatabase({ empty: true }));
    const dir = copyMigrations();
    await migrate(sql, silentLogger, loadMigrations(dir));
    fs.appendFileSync(path.join(dir, '0001_kernel.sql'), '\n-- edited\n');
    const err = await migrate(sql, silentLogger, loadMigrations(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationChangedError);
    expect((err as Error).message).toMatch(/0001_kernel has changed since it was applied/);
  });

  it('refuses a database whose applied migration file is missing', async () => {
    const sql = connect(await createTestDatabase({ empty: true }));
    const dir = copyMigrations();
    fs.writeFileSync(path.join(dir, '9990_extra.sql'), 'create table tableos.extra (x int);');
    await migrate(sql, silentLogger, loadMigrations(dir));
    fs.rmSync(path.join(dir, '9990_extra.sql'));
    const err = await migrate(sql, silentLogger, loadMigrations(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationMissingError);
    expect((err as Error).message).toContain('9990_extra');
  });

  it('refuses a new migration that sorts before an applied one', async () => {
    const sql = connect(await createTestDatabase({ empty: true }));
    const dir = copyMigrations();
    fs.writeFileSync(path.join(dir, '9990_b.sql'), 'select 1;');
    await migrate(sql, silentLogger, loadMigrations(dir));
    fs.writeFileSync(path.join(dir, '9980_a.sql'), 'select 1;');
    const err = await migrate(sql, silentLogger, loadMigrations(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationChangedError);
    expect((err as Error).message).toContain(
      '9980_a is new but sorts before the applied migration 9990_b',
    );
  });

  it('rolls back a failing migration whole, ledger included', async () => {
    const sql = connect(await createTestDatabase({ empty: true }));
    const dir = copyMigrations();
    fs.writeFileSync(
      path.join(dir, '9990_bad.sql'),
      'create table tableos.half (x int);\nselect nope from nowhere;',
    );
    const err = await migrate(sql, silentLogger, loadMigrations(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect((err as Error).message).toMatch(/9990_bad failed .*nowhere/);
    expect(await ledger(sql)).not.toContain('9990_bad');
    const [t] = await sql`select to_regclass('tableos.half') as t`;
    expect(t?.t).toBeNull();
    // The good migrations before it did land.
    expect(await ledger(sql)).toContain('0001_kernel');
  });
});
