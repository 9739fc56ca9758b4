// IPC: the three experiments of the DBOS paper with client and server in separate processes,
// TableOS mailboxes (every message durable, synchronous_commit on) against gRPC and, when a
// NATS server answers on 127.0.0.1:4222, NATS request/reply:
//   ping-pong (one request in flight), ping20-pong20 (batches of 20), fan-out to 40 receivers.
// Usage: npm run bench -- ipc [seconds per system and experiment, default 3]
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { connect, type NatsConnection } from 'nats';
import { silentLogger } from '../src/kernel/logger.js';
import { TableOS } from '../src/tableos.js';
import { benchDatabase } from './support/database.js';
import {
  BATCH,
  EchoClient,
  FANOUT,
  fanMailbox,
  fanService,
  grpcEcho,
  NATS_URL,
  natsAnswers,
  PING_SERVICE,
} from './support/ipc-common.js';
import { figures, report, round, type Figures } from './support/stats.js';

type Round = () => Promise<unknown>;
interface Result extends Figures {
  msgs_s: number;
}

const SERVER = fileURLToPath(new URL('./support/ipc-server.ts', import.meta.url));

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 3);
  const db = await benchDatabase();
  const withNats = await natsAnswers();
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, withNats ? 'nats' : ''], {
    env: { ...process.env, DATABASE_URL: db.url, TABLEOS_LOG_LEVEL: 'silent' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const os = await TableOS.open({
    databaseUrl: db.url,
    logger: silentLogger,
    executor: false,
    poolSize: 8,
  });
  let nc: NatsConnection | undefined;
  const clients: grpc.Client[] = [];
  try {
    const ports = await readyPorts(child);
    const m = os.messaging;
    for (const p of ports)
      clients.push(new EchoClient(`127.0.0.1:${p}`, grpc.credentials.createInsecure()));
    const [pingClient, ...fanClients] = clients as [grpc.Client, ...grpc.Client[]];
    if (withNats) nc = await connect({ servers: NATS_URL });
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v));
    const fans = Array.from({ length: FANOUT }, (_, i) => fanMailbox(i));
    const fanServices = Array.from({ length: FANOUT }, (_, i) => fanService(i));
    let n = 0;
    const body = () => ({ n: n++, text: 'ping' });

    const systems: Record<string, Record<string, Round>> = {
      pingpong: {
        tableos: () => m.call(PING_SERVICE, body()),
        grpc: () => grpcEcho(pingClient, body()),
        ...(nc ? { nats: () => nc!.request('bench.ping', enc(body()), { timeout: 10_000 }) } : {}),
      },
      batch20: {
        tableos: () =>
          Promise.all(Array.from({ length: BATCH }, () => m.call(PING_SERVICE, body()))),
        grpc: () => Promise.all(Array.from({ length: BATCH }, () => grpcEcho(pingClient, body()))),
        ...(nc
          ? {
              nats: () =>
                Promise.all(
                  Array.from({ length: BATCH }, () =>
                    nc!.request('bench.ping', enc(body()), { timeout: 10_000 }),
                  ),
                ),
            }
          : {}),
      },
      fanout40: {
        // 40 calls, one to each of 40 services: one statement out, one transaction back.
        tableos: () => Promise.all(fanServices.map((f) => m.call(f, body()))),
        // One multicast (one transaction) to 40 mailboxes; each receiver answers to our address.
        tableos_multicast: async () => {
          await m.multicast(fans, body());
          let got = 0;
          while (got < FANOUT) {
            got += (
              await m.recvBatch(m.address, FANOUT - got, { topic: 'fan.reply', timeoutMs: 10_000 })
            ).length;
          }
        },
        grpc: () => Promise.all(fanClients.map((c) => grpcEcho(c, body()))),
        ...(nc
          ? {
              nats: () =>
                Promise.all(
                  fans.map((_, i) =>
                    nc!.request(`bench.fan.${i}`, enc(body()), { timeout: 10_000 }),
                  ),
                ),
            }
          : {}),
      },
    };
    const perRound: Record<string, number> = { pingpong: 1, batch20: BATCH, fanout40: FANOUT };
    const results: Record<string, Record<string, Result>> = {};
    for (const [exp, sys] of Object.entries(systems)) {
      results[exp] = {};
      const parts: Record<string, Figures[]> = {};
      for (const fn of Object.values(sys)) await measure(fn, 300, 1);
      // Alternate systems in short slices so drift on a shared machine hits all alike.
      for (let slice = 0; slice < 3; slice++) {
        for (const [name, fn] of Object.entries(sys)) {
          (parts[name] ??= []).push(await measure(fn, (seconds * 1000) / 3, perRound[exp]!));
        }
      }
      for (const [name, fs] of Object.entries(parts))
        results[exp][name] = merge(fs, perRound[exp]!);
      const r = results[exp];
      console.log(
        `${exp}: ` +
          Object.entries(r)
            .map(([k, v]) => `${k} ${v.msgs_s} msg/s p50 ${v.p50_ms} ms p99 ${v.p99_ms} ms`)
            .join(' | ') +
          ` | tableos/grpc ${round(r.tableos!.msgs_s / r.grpc!.msgs_s, 2)}`,
      );
    }
    const ratio = (exp: string, peer: string) => {
      const p = results[exp]?.[peer];
      return p ? round(results[exp]!.tableos!.msgs_s / p.msgs_s, 3) : null;
    };
    const experiments = Object.fromEntries(
      Object.entries(results).map(([exp, r]) => [
        exp,
        { ...r, ratio_grpc: ratio(exp, 'grpc'), ratio_nats: ratio(exp, 'nats') },
      ]),
    );
    // The floor under every TableOS round trip: one durable commit of one row, on this disk now.
    await os.sql`create table if not exists public.bench_commit (x int)`;
    const commit = await measure(() => os.sql`insert into public.bench_commit values (1)`, 1000, 1);
    console.log(`one durable commit: p50 ${commit.p50_ms} ms (a TableOS round trip commits twice)`);
    const pp = results.pingpong!;
    report({
      bench: 'ipc',
      tableos: {
        ops_s: pp.tableos!.msgs_s,
        p50_ms: pp.tableos!.p50_ms,
        p99_ms: pp.tableos!.p99_ms,
      },
      peer: { name: 'gRPC (@grpc/grpc-js) unary echo', ops_s: pp.grpc!.msgs_s },
      ratio: ratio('pingpong', 'grpc'),
      ratio_batch20: ratio('batch20', 'grpc'),
      ratio_fanout40: ratio('fanout40', 'grpc'),
      targets: { pingpong: 0.75, batch20: 5, fanout40: 5 },
      nats: withNats,
      commit_p50_ms: commit.p50_ms,
      unit: 'messages/s (ping-pong: round trips/s); latency per round',
      experiments,
    });
  } finally {
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
    for (const c of clients) c.close();
    await nc?.close();
    await os.close();
    await db.close();
  }
}

async function measure(fn: Round, ms: number, _perRound: number): Promise<Figures> {
  const lat: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const s = performance.now();
    await fn();
    lat.push(performance.now() - s);
  }
  return figures(lat, performance.now() - t0);
}

function merge(fs: Figures[], perRound: number): Result {
  const n = fs.reduce((a, f) => a + f.n, 0);
  const ops = fs.reduce((a, f) => a + f.ops_s, 0) / fs.length;
  return {
    ops_s: round(ops),
    msgs_s: round(ops * perRound),
    p50_ms: round(fs.reduce((a, f) => a + f.p50_ms * f.n, 0) / n, 3),
    p99_ms: round(Math.max(...fs.map((f) => f.p99_ms)), 3),
    n,
  };
}

function readyPorts(child: ReturnType<typeof spawn>): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (line.startsWith('ready ')) resolve(line.slice(6).split(',').map(Number));
    });
    child.once('exit', (code) => reject(new Error(`benchmark server exited with ${code}`)));
  });
}
