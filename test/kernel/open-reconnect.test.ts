// Opening a node survives a connection lost on the way: the registration whose answer was
// lost is made again with the same id and finds its own row.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { runFixture } from '../support/spawn.js';

const NODE = fileURLToPath(new URL('./fixtures/open-node.ts', import.meta.url));

describe('opening a node while the connection drops', () => {
  it('registers once when the answer to the registration was lost', async () => {
    const url = await createTestDatabase();
    const run = await runFixture(NODE, {
      env: { DATABASE_URL: url, TABLEOS_FAULT: 'kernel:register-committed~disconnect' },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { executor } = JSON.parse(run.stdout.trim()) as { executor: string };
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      const rows = await sql<{ id: string; status: string }[]>`
        select id, status from tableos.executor`;
      expect(rows).toEqual([{ id: executor, status: 'stopped' }]);
    } finally {
      await sql.end();
    }
  });
});
