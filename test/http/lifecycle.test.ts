// The gateway's own endpoints and its life: /openapi.json is valid OpenAPI 3.1, /readyz
// reports a schema behind the code, a real socket serves fetch, and close drains (new
// requests 503, in-flight ones finish).
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { openTestOS } from '../support/db.js';
import { serve, setupTables } from './fixtures/app.js';

describe('openapi', () => {
  it('/openapi.json is valid OpenAPI 3.1 and describes the routes from their zod schemas', async () => {
    const os = await openTestOS();
    await setupTables(os);
    serve(os);
    os.http.exposeWorkflows('/wf');
    const res = await os.http.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown; parameters?: unknown[] }>>;
    }>();
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    const order = doc.paths['/orders']?.post;
    expect(JSON.stringify(order?.requestBody)).toContain('"sku"');
    expect(JSON.stringify(order?.parameters)).toContain('idempotency-key');
    expect(doc.paths['/runs/{id}']).toBeDefined();
    expect(doc.paths['/stock/{sku}']?.put).toBeDefined();
    expect(doc.paths['/wf/{name}']?.post).toBeDefined();
    expect(doc.paths['/healthz']).toBeUndefined();
    // Each run route documents its 202 and the problems it answers with, as problem+json.
    const responses = (order as unknown as { responses: Record<string, { content?: object }> })
      .responses;
    expect(Object.keys(responses).sort()).toEqual(
      ['200', '202', '400', '409', '413', '415', '422', '4XX', '500', '503'].sort(),
    );
    expect(JSON.stringify(responses['422']?.content)).toMatch(/application\/problem\+json.*"code"/);
    expect(JSON.stringify(responses['202']?.content)).toContain('"location"');
  });
});

describe('readyz', () => {
  it('503 while a migration the code expects is not applied', async () => {
    const os = await openTestOS();
    const [last] = await os.sql<{ name: string; checksum: string }[]>`
      select name, checksum from tableos.migration order by name desc limit 1`;
    await os.sql`delete from tableos.migration where name = ${last!.name}`;
    const res = await os.http.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'TABLEOS_HTTP_NOT_READY', status: 503 });
    expect(res.json<{ detail: string }>().detail).toContain(last!.name);
    await os.sql`insert into tableos.migration (name, checksum) values (${last!.name}, ${last!.checksum})`;
    expect((await os.http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('over a socket', () => {
  it('listen({ port: 0 }) serves fetch; close drains: new requests 503, in-flight ones finish', async () => {
    const os = await openTestOS();
    await setupTables(os);
    serve(os);
    const url = await os.http.listen({ port: 0 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'sock-1' },
      body: JSON.stringify({ sku: 'net', qty: 1 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sku: 'net', qty: 1 });

    const slow = fetch(`${url}/slow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ms: 800 }),
    });
    await new Promise((r) => setTimeout(r, 200));
    const closing = os.close();
    await new Promise((r) => setTimeout(r, 50));
    const refused = await fetch(`${url}/healthz`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await refused.json()).toMatchObject({ code: 'TABLEOS_HTTP_DRAINING', status: 503 });
    const done = await slow;
    expect(done.status).toBe(200);
    expect(await done.json()).toBe('slept');
    await closing;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
