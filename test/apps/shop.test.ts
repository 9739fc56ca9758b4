// The shop example as an app over HTTP, started as npm run example:shop:http starts it: an
// order POSTed with an Idempotency-Key ships; the node is SIGKILLed between two requests;
// after a restart the same request gets the same answer and nothing is charged twice.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { startFixture, type RunningFixture } from '../support/spawn.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const APP = fileURLToPath(new URL('../../examples/shop/tableos.app.ts', import.meta.url));
const pools: postgres.Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

async function startShop(url: string): Promise<{ node: RunningFixture; base: string }> {
  const node = startFixture(MAIN, {
    args: ['start', APP],
    env: { DATABASE_URL: url, TABLEOS_HTTP_PORT: '0', TABLEOS_LOG_LEVEL: 'warn' },
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    node.child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ {2}http {6}(http:\/\/\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    node.exited.then(
      (e) => reject(new Error(`shop exited early: ${e.stderr}`)),
      (err: unknown) => reject(err as Error),
    );
  });
  return { node, base };
}

function order(base: string, id: string, qty: number): Promise<Response> {
  return fetch(`${base}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': id },
    body: JSON.stringify({ id, sku: 'tea', qty }),
  });
}

it('serves orders over HTTP and survives kill -9 between two requests', async () => {
  const url = await createTestDatabase();
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  pools.push(sql);
  const a = await startShop(url);
  const first = await order(a.base, 'order-1', 2);
  expect(first.status).toBe(200);
  expect(await first.json()).toBe('shipped');
  const runId = first.headers.get('tableos-run-id');
  a.node.child.kill('SIGKILL');
  expect((await a.node.exited).signal).toBe('SIGKILL');

  const b = await startShop(url);
  try {
    const again = await order(b.base, 'order-1', 2);
    expect(again.status).toBe(200);
    expect(await again.json()).toBe('shipped');
    expect(again.headers.get('tableos-run-id')).toBe(runId);
    const second = await order(b.base, 'order-2', 1);
    expect(await second.json()).toBe('shipped');
    const status = await fetch(`${b.base}/orders/order-1`);
    expect(await status.json()).toEqual({ status: 'shipped', sku: 'tea', qty: 2 });
    expect(
      await sql`select order_id, calls from shop_charge order by order_id`.then((r) => [...r]),
    ).toEqual([
      { order_id: 'order-1', calls: 1 },
      { order_id: 'order-2', calls: 1 },
    ]);
  } finally {
    b.node.child.kill('SIGTERM');
  }
  expect((await b.node.exited).code).toBe(0);
}, 90_000);
