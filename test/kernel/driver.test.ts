// The PostgreSQL driver survives losing its connection: postgres.js 3.4.9 ends the process
// (1) when a write deferred to the end of the event-loop turn runs after the socket closed
// (an uncaught TypeError), and (2) when the connection is reset while it fetches the
// server's array types (an unhandled rejection); and it keeps the row count and error of a
// result cut off by the close, so the next statements on the reconnected connection fail with
// the old error or get their rows after holes (`rows[0]` missing).
// patches/postgres+3.4.9.patch guards all three.
// Each fixture runs against the installed, patched driver and against a copy with the patch
// taken out, which must still show the defect.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { runFixture } from '../support/spawn.js';

const root = path.resolve(import.meta.dirname, '../..');
const patched = path.join(root, 'node_modules/postgres');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-driver-'));
const unpatched = path.join(scratch, 'node_modules/postgres');
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

beforeAll(() => {
  fs.cpSync(patched, unpatched, { recursive: true });
  execFileSync('git', ['apply', '--reverse', path.join(root, 'patches/postgres+3.4.9.patch')], {
    cwd: scratch,
  });
});

function lastLine(stdout: string): unknown {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? 'null');
}

const cases = [
  {
    what: 'a query on a reserved connection whose backend was terminated',
    fixture: 'closed-write.ts',
    settled: { outcome: 'rejected', code: 'CONNECTION_CLOSED' },
    crash: "Cannot read properties of null (reading 'write')",
  },
  {
    what: 'a connection reset while the driver fetches the array types',
    fixture: 'closed-type-fetch.ts',
    settled: { outcome: 'rejected', code: 'ECONNRESET', cuts: 1 },
    crash: 'Error: read ECONNRESET',
  },
];

describe('postgres driver on a lost connection', () => {
  it('has the patch applied on install', () => {
    const text = fs.readFileSync(path.join(patched, 'src/connection.js'), 'utf8');
    expect(text.match(/Patched \(TableOS\)/g)).toHaveLength(3);
    expect(fs.readFileSync(path.join(unpatched, 'src/connection.js'), 'utf8')).not.toContain(
      'Patched (TableOS)',
    );
  });

  it('starts the next result from index 0 after a result was cut off', async () => {
    const fixture = path.join(import.meta.dirname, 'fixtures', 'cut-result.ts');
    const good = await runFixture(fixture, { args: [patched, await createTestDatabase()] });
    expect(good.stderr).toBe('');
    expect(lastLine(good.stdout)).toEqual({
      failures: ['CONNECTION_CLOSED'],
      rows: [{ i: 1 }, { i: 2 }, { i: 3 }],
      first: true,
    });
    const bad = await runFixture(fixture, { args: [unpatched, await createTestDatabase()] });
    expect(bad.stderr).toBe('');
    expect(lastLine(bad.stdout)).toMatchObject({
      failures: ['CONNECTION_CLOSED', '57P01'],
      first: false,
    });
  });

  for (const c of cases) {
    it(`settles ${c.what} with its error`, async () => {
      const url = await createTestDatabase();
      const fixture = path.join(import.meta.dirname, 'fixtures', c.fixture);
      const run = await runFixture(fixture, { args: [patched, url] });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(lastLine(run.stdout)).toEqual(c.settled);
    });

    it(`crashes the process on ${c.what} without the patch`, async () => {
      const url = await createTestDatabase();
      const fixture = path.join(import.meta.dirname, 'fixtures', c.fixture);
      const run = await runFixture(fixture, { args: [unpatched, url] });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(c.crash);
    });
  }
});
