// The gateway in process (fastify inject) against real PostgreSQL: validation naming the
// field, every problem status, idempotency (same answer, 422 for another body, ten at once),
// respond-async with /runs/{id} and ?wait=, procedure routes, exposed workflows.
/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract; these do no I/O */
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HttpRouteError, HttpStatusError } from '../../src/http/errors.js';
import type { TableOS } from '../../src/tableos.js';
import { openTestOS } from '../support/db.js';
import { serve, setupTables } from './fixtures/app.js';

let os: TableOS;

beforeAll(async () => {
  os = await openTestOS({ http: { bodyLimit: 4096, maxWaitMs: 10_000 } });
  await setupTables(os);
  serve(os);
  const a = os.workflows.workflow('side_a', async () => 'a');
  const b = os.workflows.workflow('side_b', async () => 'b');
  os.http.post('/a', a, { body: z.object({}), args: () => [], idPrefix: 'shared' });
  os.http.post('/b', b, { body: z.object({}), args: () => [], idPrefix: 'shared' });
  // Answers 409 with its own code when the slot is taken, else the slot.
  const claimSlot = os.workflows.procedure('claim_slot', async (tx, n: number) => {
    const [row] = await tx<{ n: number }[]>`
      insert into order_effect (wf, sku, qty)
      select ${`slot-${n}`}, 'slot', 1
       where not exists (select 1 from order_effect where wf = ${`slot-${n}`})
      returning 1 as n`;
    if (row === undefined)
      throw new HttpStatusError(409, `slot ${n} is taken`, { code: 'SLOT_TAKEN' });
    return n;
  });
  os.http.post('/slots', claimSlot, {
    body: z.object({ n: z.number().int() }),
    args: ({ body }) => [body.n],
  });
  const teapot = os.workflows.workflow('teapot', async () => {
    throw new HttpStatusError(418, 'short and stout');
  });
  os.http.post('/teapot', teapot, { body: z.object({}), args: () => [] });
  os.http.exposeWorkflows('/wf');
  await os.http.ready();
});

const json = { 'content-type': 'application/json' };

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return os.http.inject({
    method: 'POST',
    url,
    headers: { ...json, ...headers },
    payload: JSON.stringify(body),
  });
}

async function effects(wf: string): Promise<number> {
  const [r] = await os.sql<{ n: number }[]>`
    select count(*)::int as n from order_effect where wf = ${wf}`;
  return r!.n;
}

function expectProblem(
  res: Awaited<ReturnType<typeof post>>,
  status: number,
  code: string,
  instance: string,
) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const p = res.json<Record<string, unknown>>();
  expect(p).toMatchObject({ type: `urn:tableos:error:${code}`, status, code, instance });
  expect(typeof p.title).toBe('string');
  expect(typeof p.detail).toBe('string');
  return p;
}

describe('routes', () => {
  it('runs the workflow and answers with its output through the response schema', async () => {
    const res = await post('/orders', { sku: 'sku-1', qty: 2 });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json<{ orderId: number }>();
    expect(body).toEqual({
      orderId: expect.any(Number) as number,
      sku: 'sku-1',
      qty: 2,
      at: '1970-01-01T00:00:00.000Z',
      big: '10',
    });
    const id = res.headers['tableos-run-id'] as string;
    expect(res.headers['content-location']).toBe(`/runs/${encodeURIComponent(id)}`);
    expect(await effects(id)).toBe(1);
  });

  it('400 names the failing field', async () => {
    const res = await post('/orders', { sku: 'x', qty: -1 });
    const p = expectProblem(res, 400, 'TABLEOS_HTTP_INVALID_REQUEST', '/orders');
    expect(p.field).toBe('body.qty');
    expect(p.title).toBe('Bad Request');
    const missing = expectProblem(
      await post('/orders', { qty: 1 }),
      400,
      'TABLEOS_HTTP_INVALID_REQUEST',
      '/orders',
    );
    expect(missing.field).toBe('body.sku');
    const q = expectProblem(
      await os.http.inject({ method: 'GET', url: '/runs/x?wait=soon' }),
      400,
      'TABLEOS_HTTP_BAD_REQUEST',
      '/runs/x',
    );
    expect(q.field).toBe('query.wait');
  });

  it('400 for malformed JSON and for a bad Idempotency-Key', async () => {
    const res = await os.http.inject({
      method: 'POST',
      url: '/orders',
      headers: json,
      payload: '{"sku": ',
    });
    expectProblem(res, 400, 'TABLEOS_HTTP_BAD_REQUEST', '/orders');
    const key = await post('/orders', { sku: 'a', qty: 1 }, { 'idempotency-key': 'has space' });
    const p = expectProblem(key, 400, 'TABLEOS_HTTP_BAD_REQUEST', '/orders');
    expect(p.field).toBe('header.idempotency-key');
  });

  it('404 for an unknown route and an unknown run', async () => {
    expectProblem(await post('/nowhere', {}), 404, 'TABLEOS_HTTP_NOT_FOUND', '/nowhere');
    const run = await os.http.inject({ method: 'GET', url: '/runs/no-such-run' });
    expectProblem(run, 404, 'TABLEOS_WORKFLOW_NOT_FOUND', '/runs/no-such-run');
  });

  it('413 past bodyLimit, 415 for a body that is not JSON', async () => {
    const big = await post('/orders', { sku: 'x'.repeat(5000), qty: 1 });
    expectProblem(big, 413, 'TABLEOS_HTTP_BODY_TOO_LARGE', '/orders');
    const text = await os.http.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'text/plain' },
      payload: 'sku=1',
    });
    expectProblem(text, 415, 'TABLEOS_HTTP_UNSUPPORTED_MEDIA_TYPE', '/orders');
  });

  it('500 for a failed run, with its run id; /runs shows the error', async () => {
    const res = await post('/boom', {});
    const p = expectProblem(res, 500, 'TABLEOS_HTTP_RUN_FAILED', '/boom');
    expect(p.runStatus).toBe('error');
    const run = await os.http.inject({
      method: 'GET',
      url: `/runs/${encodeURIComponent(p.runId as string)}`,
    });
    expect(run.json()).toMatchObject({
      id: p.runId,
      name: 'boom',
      status: 'error',
      done: true,
      error: { message: 'the workflow broke' },
    });
  });

  it('a run that throws HttpStatusError answers with its status and code, again for a retry', async () => {
    expect((await post('/slots', { n: 7 })).body).toBe('7');
    const first = await post('/slots', { n: 7 }, { 'idempotency-key': 'slot-7-again' });
    const p = expectProblem(first, 409, 'SLOT_TAKEN', '/slots');
    expect(p.detail).toBe('slot 7 is taken');
    expect(p.runId).toBe('http:post.slots:slot-7-again');
    // The procedure's writes rolled back with it; the retry is answered from the recorded run.
    expect(await effects('slot-7')).toBe(1);
    const again = await post('/slots', { n: 7 }, { 'idempotency-key': 'slot-7-again' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual(p);
    const run = await os.http.inject({
      method: 'GET',
      url: `/runs/${encodeURIComponent(p.runId as string)}`,
    });
    expect(run.json()).toMatchObject({
      status: 'error',
      error: { name: 'HttpStatusError', code: 'SLOT_TAKEN', status: 409 },
    });
    const tea = expectProblem(await post('/teapot', {}), 418, 'TABLEOS_HTTP_STATUS', '/teapot');
    expect(tea.detail).toBe('short and stout');
    expect(() => new HttpStatusError(200, 'fine')).toThrow(/status from 400 to 599, got 200/);
    expect(() => new HttpStatusError(400, 'x', { code: 'lower' })).toThrow(/capital letters/);
  });

  it('409 when the key names a run of another workflow', async () => {
    expect((await post('/a', {}, { 'idempotency-key': 'k' })).body).toBe('"a"');
    expectProblem(
      await post('/b', {}, { 'idempotency-key': 'k' }),
      409,
      'TABLEOS_WORKFLOW_CONFLICT',
      '/b',
    );
  });

  it('GET validates params and query and passes them as one object', async () => {
    const res = await os.http.inject({ method: 'GET', url: '/echo/bob?n=3' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'bob', n: '3' });
  });
});

describe('Idempotency-Key', () => {
  it('a retry runs once and gets the same response', async () => {
    const h = { 'idempotency-key': 'retry-1' };
    const first = await post('/orders', { sku: 's', qty: 1 }, h);
    const second = await post('/orders', { sku: 's', qty: 1 }, h);
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(second.body).toBe(first.body);
    expect(first.headers['tableos-run-id']).toBe('http:post.orders:retry-1');
    expect(await effects('http:post.orders:retry-1')).toBe(1);
  });

  it('the same key with a different body is 422 and runs nothing', async () => {
    const h = { 'idempotency-key': 'reuse-1' };
    expect((await post('/orders', { sku: 's', qty: 1 }, h)).statusCode).toBe(200);
    const p = expectProblem(
      await post('/orders', { sku: 's', qty: 2 }, h),
      422,
      'TABLEOS_HTTP_KEY_REUSED',
      '/orders',
    );
    expect(p.runId).toBe('http:post.orders:reuse-1');
    expect(await effects('http:post.orders:reuse-1')).toBe(1);
  });

  it('keys of different routes do not collide', async () => {
    const h = { 'idempotency-key': 'same-key' };
    expect((await post('/orders', { sku: 's', qty: 1 }, h)).statusCode).toBe(200);
    const other = await post('/wf/order', [{ sku: 's', qty: 7 }], h);
    expect(other.statusCode).toBe(200);
    expect(other.headers['tableos-run-id']).toBe('http:wf.order:same-key');
  });

  it('ten concurrent POSTs with one key: one run, ten identical responses', async () => {
    const h = { 'idempotency-key': 'burst-1' };
    const all = await Promise.all(
      Array.from({ length: 10 }, () => post('/orders', { sku: 'b', qty: 3 }, h)),
    );
    expect(all.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    expect(new Set(all.map((r) => r.body)).size).toBe(1);
    expect(await effects('http:post.orders:burst-1')).toBe(1);
    const [runs] = await os.sql<{ n: number }[]>`
      select count(*)::int as n from tableos.workflow where id = 'http:post.orders:burst-1'`;
    expect(runs!.n).toBe(1);
  });

  it('a procedure route runs the procedure exactly once per key', async () => {
    const put = () =>
      os.http.inject({
        method: 'PUT',
        url: '/stock/sku-9',
        headers: { ...json, 'idempotency-key': 'bump-1' },
        payload: '{}',
      });
    const [a, b] = [await put(), await put()];
    expect(a.statusCode).toBe(200);
    expect(a.json()).toEqual({ bumped: 'sku-9' });
    expect(b.body).toBe(a.body);
    const [r] = await os.sql<{ n: number }[]>`
      select count(*)::int as n from order_effect where wf = 'bump' and sku = 'sku-9'`;
    expect(r!.n).toBe(1);
  });
});

describe('respond-async and /runs', () => {
  it('202 with Location; GET /runs/{id}?wait=5s returns the finished run', async () => {
    const res = await post(
      '/orders',
      { sku: 'async', qty: 1 },
      { prefer: 'respond-async', 'idempotency-key': 'async-1' },
    );
    expect(res.statusCode).toBe(202);
    const location = res.headers.location as string;
    expect(location).toBe(`/runs/${encodeURIComponent('http:post.orders:async-1')}`);
    expect(res.headers['preference-applied']).toBe('respond-async');
    expect(res.json()).toEqual({ id: 'http:post.orders:async-1', location });
    const run = await os.http.inject({ method: 'GET', url: `${location}?wait=5s` });
    expect(run.statusCode).toBe(200);
    expect(run.json()).toMatchObject({
      id: 'http:post.orders:async-1',
      name: 'order',
      status: 'success',
      done: true,
      output: { sku: 'async', qty: 1, big: '10' },
      recoveryAttempts: 0,
    });
    expect(run.json<{ createdAt: string }>().createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('?wait=500ms long-polls a run still going and answers when the wait ends', async () => {
    const res = await post('/slow', { ms: 3000 }, { prefer: 'respond-async' });
    expect(res.statusCode).toBe(202);
    const location = res.headers.location as string;
    const t0 = Date.now();
    const run = await os.http.inject({ method: 'GET', url: `${location}?wait=500ms` });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(run.json()).toMatchObject({ name: 'slow', status: 'pending', done: false });
    expect(run.headers['retry-after']).toBe('1');
    const done = await os.http.inject({ method: 'GET', url: `${location}?wait=10s` });
    expect(done.json()).toMatchObject({ status: 'success', output: 'slept', done: true });
  });
});

describe('exposed workflows', () => {
  it('POST /wf/{name} runs the workflow with the body as its arguments', async () => {
    const res = await post('/wf/slow', [0]);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toBe('slept');
    expectProblem(await post('/wf/nope', []), 404, 'TABLEOS_WORKFLOW_UNKNOWN', '/wf/nope');
    expectProblem(
      await post('/wf/http.procedure.bump', [{ sku: 'x' }]),
      404,
      'TABLEOS_HTTP_NOT_FOUND',
      '/wf/http.procedure.bump',
    );
  });
});

describe('declaration', () => {
  it('refuses a body route without a body schema, a reserved path, and routes after start', async () => {
    const other = await openTestOS();
    const wf = other.workflows.workflow('w', async () => 1);
    expect(() => other.http.post('/x', wf, {} as never)).toThrow(HttpRouteError);
    expect(() => other.http.post('/x', wf, {} as never)).toThrow(/no body schema/);
    expect(() => other.http.get('/healthz', wf)).toThrow(/served by the gateway/);
    expect(() => other.http.get('bad path', wf)).toThrow(HttpRouteError);
    expect(() => other.http.get('/f', (async () => 1) as never)).toThrow(
      /workflow .* or a procedure/,
    );
    other.http.get('/ok', wf);
    expect(() => other.http.get('/ok', wf)).toThrow(/declared twice/);
    await other.http.ready();
    expect(() => other.http.get('/late', wf)).toThrow(/before the server starts/);
  });

  it('validates the http options', async () => {
    await expect(openTestOS({ http: { port: -1 } })).rejects.toThrow(/http\.port/);
    await expect(openTestOS({ http: { nope: 1 } as never })).rejects.toThrow(/http/);
  });
});

describe('built in', () => {
  it('/healthz, /readyz, /docs', async () => {
    const h = await os.http.inject({ method: 'GET', url: '/healthz' });
    expect(h.json()).toEqual({ status: 'ok' });
    const r = await os.http.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ready' });
    const d = await os.http.inject({ method: 'GET', url: '/docs' });
    expect(d.headers['content-type']).toMatch(/^text\/html/);
    expect(d.body).toContain('/openapi.json');
    expect(d.body).not.toMatch(/https?:\/\//);
  });
});
