// SIGKILL a node while the runs it accepted (202) are in flight, start another node on the
// same database, and check that every accepted run finished exactly once, and that every
// request answered 2xx has its effect exactly once.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { startFixture, type RunningFixture } from '../support/spawn.js';

const SERVER = fileURLToPath(new URL('./fixtures/server.ts', import.meta.url));
const pools: postgres.Sql[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

async function startServer(
  url: string,
  env: Record<string, string> = {},
): Promise<{ node: RunningFixture; base: string }> {
  const node = startFixture(SERVER, {
    env: { DATABASE_URL: url, TABLEOS_LOG_LEVEL: 'silent', PAUSE_MS: '1500', ...env },
    timeoutMs: 60_000,
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    node.child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    node.exited.then(
      (e) => reject(new Error(`server exited early: ${e.stderr}`)),
      (err: unknown) => reject(err as Error),
    );
  });
  return { node, base };
}

function order(base: string, key: string, i: number, async: boolean): Promise<Response> {
  return fetch(`${base}/orders`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'idempotency-key': key,
      ...(async ? { prefer: 'respond-async' } : {}),
    },
    body: JSON.stringify({ sku: `sku-${i}`, qty: i + 1 }),
  });
}

it('accepted runs finish exactly once after the node is killed', async () => {
  const url = await createTestDatabase();
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  pools.push(sql);
  const a = await startServer(url);
  const N = 12;
  const accepted = await Promise.all(
    Array.from({ length: N }, (_, i) => order(a.base, `k-${i}`, i, true)),
  );
  expect(accepted.map((r) => r.status)).toEqual(Array(N).fill(202));
  const ids = accepted.map((r) => r.headers.get('tableos-run-id')!);
  // Synchronous requests in flight too: each either answered 2xx before the kill or not at all.
  const sync = Array.from({ length: 4 }, (_, i) =>
    order(a.base, `s-${i}`, i, false).then(
      (r) => r.status,
      () => 0,
    ),
  );
  await new Promise((r) => setTimeout(r, 300));
  const [pendingBefore] = await sql<{ n: number }[]>`
    select count(*)::int as n from tableos.workflow where status = 'pending'`;
  expect(pendingBefore!.n).toBeGreaterThan(0);
  a.node.child.kill('SIGKILL');
  expect((await a.node.exited).signal).toBe('SIGKILL');
  const syncStatus = await Promise.all(sync);

  const b = await startServer(url);
  for (const id of ids) {
    let run: { status: string; done: boolean } | undefined;
    for (let tries = 0; tries < 10 && !run?.done; tries++) {
      const res = await fetch(`${b.base}/runs/${encodeURIComponent(id)}?wait=5s`);
      run = (await res.json()) as { status: string; done: boolean };
    }
    expect(run).toMatchObject({ status: 'success', done: true });
  }
  for (const [i, id] of ids.entries()) {
    const [e] = await sql<{ n: number }[]>`
      select count(*)::int as n from order_effect where wf = ${id}`;
    expect(e!.n, `order effect of ${id}`).toBe(1);
    const [s] = await sql<{ n: number }[]>`
      select count(*)::int as n from step_effect where wf = ${id}`;
    expect(s!.n).toBeGreaterThanOrEqual(1);
    expect(s!.n).toBeLessThanOrEqual(2);
    // The same request again, to the new node: the recorded answer, nothing run again.
    const again = await order(b.base, `k-${i}`, i, false);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ sku: `sku-${i}`, qty: i + 1 });
  }
  for (const [i, status] of syncStatus.entries()) {
    const id = `http:post.orders:s-${i}`;
    const [e] = await sql<{ n: number }[]>`
      select count(*)::int as n from order_effect where wf = ${id}`;
    if (status >= 200 && status < 300) expect(e!.n).toBe(1);
    else expect(e!.n).toBeLessThanOrEqual(1);
  }
  const [total] = await sql<{ n: number; d: number }[]>`
    select count(*)::int as n, count(distinct wf)::int as d from order_effect`;
  expect(total!.n).toBe(total!.d);
  b.node.child.kill('SIGTERM');
  expect((await b.node.exited).code).toBe(0);
});

for (const point of ['key-claimed', 'run-started'] as const) {
  it(`killed at http:${point}: the retried request runs once`, async () => {
    const url = await createTestDatabase();
    const sql = postgres(url, { max: 2, onnotice: () => undefined });
    pools.push(sql);
    const a = await startServer(url, { TABLEOS_FAULT: `http:${point}`, PAUSE_MS: '0' });
    await expect(order(a.base, 'retry-me', 3, false)).rejects.toThrow();
    expect((await a.node.exited).signal).toBe('SIGKILL');
    const b = await startServer(url, { PAUSE_MS: '0' });
    const again = await order(b.base, 'retry-me', 3, false);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ sku: 'sku-3', qty: 4 });
    const [e] = await sql<{ n: number }[]>`
      select count(*)::int as n from order_effect where wf = 'http:post.orders:retry-me'`;
    expect(e!.n).toBe(1);
    b.node.child.kill('SIGTERM');
    expect((await b.node.exited).code).toBe(0);
  });
}
