// tableos start --http: the node serves HTTP, prints the address with its startup lines, and
// on SIGTERM drains and stops.
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { CLI } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';

it('tableos start --http serves /healthz and stops on SIGTERM', async () => {
  const url = await createTestDatabase();
  const child = spawn(process.execPath, [CLI, 'start', '--http'], {
    env: { ...process.env, DATABASE_URL: url, TABLEOS_LOG_LEVEL: 'warn', TABLEOS_HTTP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^ {2}http {6}(http:\/\/\S+)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error(`exited before listening: ${out}`)));
    });
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${address}/healthz`);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${address}/readyz`)).status).toBe(200);
    await expect.poll(() => out).toContain(`  console   ${address}/console\n`);
    const page = await fetch(`${address}/console`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Overview · TableOS console</title>');
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(out).toContain('TableOS node stopped');
}, 60_000);
