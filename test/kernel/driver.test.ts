// The PostgreSQL driver survives its connection closing under a pending write: postgres.js
// 3.4.9 throws outside any promise when a write deferred to the end of the event-loop turn
// runs after the socket closed (patches/postgres+3.4.9.patch guards it). The same fixture
// runs against the installed, patched driver and against a copy with the patch taken out.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { runFixture } from '../support/spawn.js';

const root = path.resolve(import.meta.dirname, '../..');
const fixture = path.join(import.meta.dirname, 'fixtures/closed-write.ts');
const patchFile = path.join(root, 'patches/postgres+3.4.9.patch');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tableos-driver-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function lastLine(stdout: string): unknown {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? 'null');
}

describe('postgres driver on a closed connection', () => {
  it('rejects a query on a reserved connection whose backend was terminated', async () => {
    const url = await createTestDatabase();
    const run = await runFixture(fixture, {
      args: [path.join(root, 'node_modules/postgres'), url],
    });
    expect(run.stderr).not.toContain('TypeError');
    expect(run.code).toBe(0);
    expect(lastLine(run.stdout)).toEqual({ outcome: 'rejected', code: 'CONNECTION_CLOSED' });
  });

  it('crashes the process without the patch (the defect the patch guards)', async () => {
    const url = await createTestDatabase();
    const copy = path.join(scratch, 'node_modules/postgres');
    fs.cpSync(path.join(root, 'node_modules/postgres'), copy, { recursive: true });
    execFileSync('git', ['apply', '--reverse', patchFile], { cwd: scratch });
    expect(fs.readFileSync(path.join(copy, 'src/connection.js'), 'utf8')).not.toContain(
      'Patched (TableOS)',
    );
    const run = await runFixture(fixture, { args: [copy, url] });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("Cannot read properties of null (reading 'write')");
  });
});
