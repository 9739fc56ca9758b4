// Serverless graphs: a fan-out/fan-in of N no-op procedure nodes (nodes/s, makespan, ready to
// started p50/p99) and a 10-level chain (latency of a dependency hop), by TableOS and by the
// same graphs as DBOS Transact workflows (Promise.all over steps), on the same Postgres server.
/* eslint-disable @typescript-eslint/require-await -- registered functions are async by contract; these do no I/O */
import { DBOS } from '@dbos-inc/dbos-sdk';
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import { percentile, report, round } from './support/stats.js';

const CHAIN = 10;

const p = (xs: number[], q: number) =>
  round(
    percentile(
      [...xs].sort((a, b) => a - b),
      q,
    ),
    3,
  );

export async function main(args: string[]): Promise<void> {
  const n = Number(args[0] ?? 1000);
  const chains = Number(args[1] ?? 10);
  const db = await benchDatabase();
  const dbosUrl = await db.create('dbos');
  const os = await TableOS.open({ databaseUrl: db.url, logger: silentLogger, poolSize: 16 });
  try {
    const s = os.serverless;
    s.fn('noop', async () => 1, { kind: 'procedure' });
    s.fn('fanin', async (ctx) => ctx.inputs.length, { kind: 'procedure' });
    await os.scheduler.start({ capacity: 32, pollMs: 1000 });

    const fanGraph = (size: number) => ({
      nodes: [
        { id: 'root', fn: 'noop' },
        ...Array.from({ length: size - 2 }, (_, i) => ({ id: `m${i}`, fn: 'noop' })),
        { id: 'sink', fn: 'fanin' },
      ],
      edges: Array.from({ length: size - 2 }, (_, i) => [
        ['root', `m${i}`],
        [`m${i}`, 'sink'],
      ]).flat() as [string, string][],
    });
    const chainGraph = {
      nodes: Array.from({ length: CHAIN }, (_, i) => ({ id: `c${i}`, fn: 'noop' })),
      edges: Array.from(
        { length: CHAIN - 1 },
        (_, i) => [`c${i}`, `c${i + 1}`] as [string, string],
      ),
    };
    // Warm-up: connections, prepared statements, the worker's slots.
    await (await s.submit(fanGraph(50))).result();

    const t0 = performance.now();
    const fan = await s.submit(fanGraph(n), { id: 'fan' });
    const out = await fan.result();
    const tMakespan = performance.now() - t0;
    if (out.sink !== n - 2) throw new Error(`bad fan-in result ${JSON.stringify(out)}`);
    const waits = await os.sql<{ ms: number }[]>`
      select extract(epoch from started_at - ready_at) * 1000 ms from tableos.dag_node where dag_id = 'fan'`;
    const readyToStarted = waits.map((w) => Number(w.ms));

    const hops: number[] = [];
    const tChain: number[] = [];
    for (let i = 0; i < chains; i++) {
      const c0 = performance.now();
      await (await s.submit(chainGraph, { id: `chain-${i}` })).result();
      tChain.push(performance.now() - c0);
      const rows = await os.sql<{ ms: number }[]>`
        select extract(epoch from c.started_at - p.finished_at) * 1000 ms
          from tableos.dag_edge e
          join tableos.dag_node p on p.dag_id = e.dag_id and p.id = e.parent
          join tableos.dag_node c on c.dag_id = e.dag_id and c.id = e.child
         where e.dag_id = ${`chain-${i}`}`;
      hops.push(...rows.map((r) => Number(r.ms)));
    }

    // DBOS Transact: the same graphs as workflows over steps.
    DBOS.setConfig({
      name: 'bench-dag',
      systemDatabaseUrl: dbosUrl,
      logLevel: 'error',
      systemDatabasePoolSize: 16,
    });
    const dNoop = DBOS.registerStep(async () => 1, { name: 'noop' });
    const dFan = DBOS.registerWorkflow(
      async (size: number) => {
        await dNoop();
        const mids = await Promise.all(Array.from({ length: size - 2 }, () => dNoop()));
        await dNoop();
        return mids.length;
      },
      { name: 'fan' },
    );
    const stamps: [number, number][] = [];
    const dStamp = DBOS.registerStep(
      async () => {
        const s0 = performance.now();
        stamps.push([s0, performance.now()]);
        return 1;
      },
      { name: 'stamp' },
    );
    const dChain = DBOS.registerWorkflow(
      async () => {
        for (let i = 0; i < CHAIN; i++) await dStamp();
        return CHAIN;
      },
      { name: 'chain' },
    );
    await DBOS.launch();
    let dMakespan: number;
    const dHops: number[] = [];
    const dChainMs: number[] = [];
    try {
      await (await DBOS.startWorkflow(dFan)(50)).getResult();
      const d0 = performance.now();
      const r = await (await DBOS.startWorkflow(dFan)(n)).getResult();
      dMakespan = performance.now() - d0;
      if (r !== n - 2) throw new Error(`bad DBOS result ${r}`);
      for (let i = 0; i < chains; i++) {
        stamps.length = 0;
        const c0 = performance.now();
        await (await DBOS.startWorkflow(dChain)()).getResult();
        dChainMs.push(performance.now() - c0);
        for (let k = 1; k < stamps.length; k++) dHops.push(stamps[k]![0] - stamps[k - 1]![1]);
      }
    } finally {
      await DBOS.shutdown();
    }

    const tableos = {
      nodes: n,
      nodes_s: round((n / tMakespan) * 1000),
      makespan_ms: round(tMakespan),
      ready_to_started_p50_ms: p(readyToStarted, 50),
      ready_to_started_p99_ms: p(readyToStarted, 99),
      chain_hop_p50_ms: p(hops, 50),
      chain_hop_p99_ms: p(hops, 99),
      chain_makespan_p50_ms: p(tChain, 50),
    };
    const peer = {
      name: 'DBOS Transact 5.3 (workflow, Promise.all over steps)',
      nodes_s: round((n / dMakespan) * 1000),
      makespan_ms: round(dMakespan),
      chain_hop_p50_ms: p(dHops, 50),
      chain_makespan_p50_ms: p(dChainMs, 50),
    };
    console.log(
      `fan-out/fan-in of ${n}: tableos ${tableos.nodes_s} nodes/s (${tableos.makespan_ms} ms) | dbos ${peer.nodes_s} nodes/s (${peer.makespan_ms} ms)`,
    );
    console.log(
      `chain of ${CHAIN}: tableos hop p50 ${tableos.chain_hop_p50_ms} ms | dbos hop p50 ${peer.chain_hop_p50_ms} ms`,
    );
    report({
      bench: 'dag',
      tableos,
      peer,
      ratio: round(tableos.nodes_s / peer.nodes_s, 2),
      hop_ratio: round(tableos.chain_hop_p50_ms / peer.chain_hop_p50_ms, 2),
    });
  } finally {
    await os.close();
    await db.close();
  }
}
