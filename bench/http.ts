// HTTP: POST requests, each with its own Idempotency-Key, whose handler is a durable workflow
// of one row update and one step, over 1 and 64 connections (autocannon), served by the
// TableOS gateway and by DBOS Transact behind node:http, side by side on the same Postgres
// (each in its own database), synchronous_commit on.
/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DBOS } from '@dbos-inc/dbos-sdk';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { z } from 'zod';
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import { report, round, type Figures } from './support/stats.js';

const ROWS = 1000;

async function load(url: string, seconds: number, connections: number): Promise<Figures> {
  const result = await autocannon({
    url: `${url}/bench`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, 'idempotency-key': crypto.randomUUID() },
          body: JSON.stringify({ id: 1 + Math.floor(Math.random() * ROWS) }),
        }),
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

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 5);
  const db = await benchDatabase();
  const dbosUrl = await db.create('dbos');
  const dbosApp = await db.create('dbos_app');
  const os = await TableOS.open({
    databaseUrl: db.url,
    logger: silentLogger,
    poolSize: 16,
    http: { port: 0 },
  });
  const tRows = await rows(db.url);
  const dRows = await rows(dbosApp);
  let server: http.Server | undefined;
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
    try {
      await load(tUrl, 1, 4);
      await load(dUrl, 1, 4);
      const t1 = await load(tUrl, seconds, 1);
      const d1 = await load(dUrl, seconds, 1);
      const t64 = await load(tUrl, seconds, 64);
      const d64 = await load(dUrl, seconds, 64);
      console.log(`1 connection: tableos ${line(t1)} | dbos ${line(d1)}`);
      console.log(`64 connections: tableos ${line(t64)} | dbos ${line(d64)}`);
      report({
        bench: 'http',
        tableos: { ...t64, connections: 64, one_connection: t1 },
        peer: {
          name: 'DBOS Transact 5.3 + node:http',
          ...d64,
          connections: 64,
          one_connection: d1,
        },
        ratio: round(t64.ops_s / d64.ops_s, 2),
        ratio_one_connection: round(t1.ops_s / d1.ops_s, 2),
      });
    } finally {
      await DBOS.shutdown();
    }
  } finally {
    server?.close();
    await os.close();
    await tRows.end();
    await dRows.end();
    await db.close();
  }
}

function line(f: Figures): string {
  return `${f.ops_s} req/s p50 ${f.p50_ms} ms p99 ${f.p99_ms} ms`;
}
