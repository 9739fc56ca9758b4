// HTTP: POST requests, each with its own Idempotency-Key, whose handler is a durable workflow
// of one row update and one step, over 1 and 64 connections (autocannon), served by the
// TableOS gateway, by DBOS Transact behind node:http and by Restate (single node, its own log
// on local disk), side by side on the same Postgres (each in its own database),
// synchronous_commit on.
/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DBOS } from '@dbos-inc/dbos-sdk';
import * as restate from '@restatedev/restate-sdk';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { z } from 'zod';
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import { startRestate, type RestatePeer } from './support/restate.js';
import { report, round, type Figures } from './support/stats.js';

const ROWS = 1000;

function request(id: number): { headers: Record<string, string>; body: string } {
  return {
    headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
    body: JSON.stringify({ id }),
  };
}

/** url is the endpoint itself (each side routes the handler its own way). */
async function load(url: string, seconds: number, connections: number): Promise<Figures> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req) => {
          const r = request(1 + Math.floor(Math.random() * ROWS));
          return { ...req, headers: { ...req.headers, ...r.headers }, body: r.body };
        },
      },
    ],
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) throw new Error(`${bad} requests failed (non-2xx, errors or timeouts)`);
  return {
    ops_s: round(result.requests.average),
    p50_ms: round(result.latency.p50, 3),
    p99_ms: round(result.latency.p99, 3),
    n: result.requests.total,
  };
}

async function rows(url: string): Promise<postgres.Sql> {
  const sql = postgres(url, { max: 16, onnotice: () => undefined });
  await sql`create table if not exists bench_row (id int primary key, n bigint not null default 0)`;
  await sql`insert into bench_row (id) select generate_series(1, ${ROWS}) on conflict do nothing`;
  return sql;
}

// The same workflow as a Restate service: each ctx.run is journaled in Restate's log before the
// handler goes on, so the row update is a step, as on the DBOS side.
function restateBench(sql: postgres.Sql) {
  return restate.service({
    name: 'bench',
    handlers: {
      run: async (ctx: restate.Context, b: { id: number }) => {
        const id = await ctx.run('bump', async () => {
          await sql`update bench_row set n = n + 1 where id = ${b.id}`;
          return b.id;
        });
        return ctx.run('echo', async () => id);
      },
    },
  });
}

/** Polls until the side answers one request: a new Restate deployment takes a moment to reach its ingress. */
async function ready(url: string): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(url, {
      method: 'POST',
      ...request(1),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    await res?.text();
    if (res?.ok) return;
    if (Date.now() > end)
      throw new Error(`${url} gave no 2xx within 30 s (last: ${res?.status ?? 'no answer'})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Side {
  key: string;
  name: string;
  url: string;
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 5);
  const db = await benchDatabase();
  const dbosUrl = await db.create('dbos');
  const dbosApp = await db.create('dbos_app');
  const restateApp = await db.create('restate_app');
  const os = await TableOS.open({
    databaseUrl: db.url,
    logger: silentLogger,
    poolSize: 16,
    http: { port: 0 },
  });
  const tRows = await rows(db.url);
  const dRows = await rows(dbosApp);
  const rRows = await rows(restateApp);
  let server: http.Server | undefined;
  let dbosUp = false;
  let rs: RestatePeer | undefined;
  try {
    const bump = os.workflows.procedure('bump', async (tx, id: number) => {
      await tx`update bench_row set n = n + 1 where id = ${id}`;
      return id;
    });
    const echo = os.workflows.step('echo', async (id: number) => id);
    const flow = os.workflows.workflow('bench', async (ctx, b: { id: number }) =>
      ctx.call(echo, await ctx.call(bump, b.id)),
    );
    os.http.post('/bench', flow, { body: z.object({ id: z.number().int() }) });
    const tUrl = await os.http.listen({ port: 0 });

    DBOS.setConfig({
      name: 'bench',
      systemDatabaseUrl: dbosUrl,
      logLevel: 'error',
      systemDatabasePoolSize: 16,
    });
    // DBOS 5 runs transactions through a separate datasource package; without one the row
    // update is a step (its own commit, then the step's checkpoint).
    const dBump = DBOS.registerStep(
      async (id: number) => {
        await dRows`update bench_row set n = n + 1 where id = ${id}`;
        return id;
      },
      { name: 'bump' },
    );
    const dEcho = DBOS.registerStep(async (id: number) => id, { name: 'echo' });
    const dFlow = DBOS.registerWorkflow(async (id: number) => dEcho(await dBump(id)), {
      name: 'bench',
    });
    await DBOS.launch();
    dbosUp = true;
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const key = req.headers['idempotency-key'] as string;
        const { id } = JSON.parse(body) as { id: number };
        DBOS.startWorkflow(dFlow, { workflowID: key })(id)
          .then((h) => h.getResult())
          .then(
            (r) => {
              res.writeHead(200, { 'content-type': 'application/json' });
              res.end(JSON.stringify(r));
            },
            (err: unknown) => {
              res.writeHead(500);
              res.end(String(err));
            },
          );
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const dUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const sides: Side[] = [
      { key: 'tableos', name: 'TableOS', url: `${tUrl}/bench` },
      { key: 'dbos', name: 'DBOS Transact 5.3 + node:http', url: `${dUrl}/bench` },
    ];
    const restateName = 'Restate (single node) + SDK endpoint over HTTP/2';
    const skipped = new Map<string, { name: string; why: string }>();
    try {
      rs = await startRestate([restateBench(rRows)]);
      const rUrl = `${rs.ingressUrl}/bench/run`;
      await ready(rUrl);
      sides.push({
        key: 'restate',
        name: restateName.replace('Restate', `Restate ${rs.version}`),
        url: rUrl,
      });
    } catch (err) {
      skipped.set('restate', { name: restateName, why: message(err) });
      console.log(`restate: skipped (${message(err)}); the other sides still run`);
    }

    // A peer that fails under load is reported as skipped; TableOS failing fails the run.
    const run = async (s: Side, secs: number, connections: number) => {
      if (skipped.has(s.key)) return undefined;
      try {
        return await load(s.url, secs, connections);
      } catch (err) {
        if (s.key === 'tableos') throw err;
        skipped.set(s.key, { name: s.name, why: message(err) });
        console.log(`${s.key}: skipped (${message(err)})`);
        return undefined;
      }
    };
    for (const s of sides) await run(s, 1, 4);
    const one = new Map<string, Figures | undefined>();
    const many = new Map<string, Figures | undefined>();
    for (const s of sides) one.set(s.key, await run(s, seconds, 1));
    for (const s of sides) many.set(s.key, await run(s, seconds, 64));

    const shown = (m: Map<string, Figures | undefined>) =>
      sides
        .filter((s) => m.get(s.key) !== undefined)
        .map((s) => `${s.key} ${line(m.get(s.key)!)}`)
        .join(' | ');
    console.log(`1 connection: ${shown(one)}`);
    console.log(`64 connections: ${shown(many)}`);
    const t1 = one.get('tableos')!;
    const t64 = many.get('tableos')!;
    const peers: Record<string, unknown> = {};
    for (const s of sides.slice(1)) {
      const o = one.get(s.key);
      const m = many.get(s.key);
      if (o && m && !skipped.has(s.key))
        peers[s.key] = { name: s.name, ...m, connections: 64, one_connection: o };
    }
    for (const [key, { name, why }] of skipped) peers[key] = { name, skipped: why };
    const faster = (m: Map<string, Figures | undefined>) => {
      let best: [string, Figures] | undefined;
      for (const s of sides.slice(1)) {
        const f = m.get(s.key);
        if (f && !skipped.has(s.key) && (!best || f.ops_s > best[1].ops_s)) best = [s.key, f];
      }
      return best;
    };
    const f64 = faster(many);
    const f1 = faster(one);
    report({
      bench: 'http',
      seconds,
      tableos: { ...t64, connections: 64, one_connection: t1 },
      peers,
      faster_peer: f64?.[0] ?? null,
      ratio: f64 ? round(t64.ops_s / f64[1].ops_s, 2) : null,
      faster_peer_one_connection: f1?.[0] ?? null,
      ratio_one_connection: f1 ? round(t1.ops_s / f1[1].ops_s, 2) : null,
    });
  } finally {
    await rs?.close();
    if (dbosUp) await DBOS.shutdown();
    server?.close();
    await os.close();
    await tRows.end();
    await dRows.end();
    await rRows.end();
    await db.close();
  }
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

function line(f: Figures): string {
  return `${f.ops_s} req/s p50 ${f.p50_ms} ms p99 ${f.p99_ms} ms`;
}
