// The receiving side of the ipc benchmark, run as its own process: a TableOS ping service and
// 40 fan-out mailboxes, gRPC echo servers (1 + 40 ports) and, if given, NATS responders.
// Prints "ready <grpc port> <first fan-out port>" and stops when stdin closes.
import * as grpc from '@grpc/grpc-js';
import { connect, type NatsConnection } from 'nats';
import { silentLogger } from '../../src/kernel/logger.js';
import { TableOS } from '../../src/tableos.js';
import {
  echoService,
  FANOUT,
  fanMailbox,
  fanService,
  NATS_URL,
  PING_SERVICE,
} from './ipc-common.js';

const os = await TableOS.open({ logger: silentLogger, executor: false, poolSize: 8 });
const m = os.messaging;
const echo = (req: unknown) => req;
const servers = [
  await m.serve(PING_SERVICE, echo),
  ...(await Promise.all(Array.from({ length: FANOUT }, (_, i) => m.serve(fanService(i), echo)))),
];
let stopping = false;
// Plain mailboxes for the multicast variant: receive, answer the sender.
const fanLoops = Array.from({ length: FANOUT }, async (_, i) => {
  await m.createMailbox(fanMailbox(i));
  while (!stopping) {
    const got = await m.recv(fanMailbox(i), { timeoutMs: 60_000 }).catch(() => undefined);
    if (got) await m.send(got.sender, got.body, { topic: 'fan.reply', from: fanMailbox(i) });
  }
});

async function grpcServer(): Promise<[grpc.Server, number]> {
  const s = new grpc.Server();
  s.addService(echoService, {
    echo: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, call.request),
  });
  const port = await new Promise<number>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return [s, port];
}

const grpcServers = await Promise.all(Array.from({ length: FANOUT + 1 }, () => grpcServer()));

let nc: NatsConnection | undefined;
if (process.argv[2] === 'nats') {
  nc = await connect({ servers: NATS_URL });
  const respond = (subject: string) => {
    const sub = nc!.subscribe(subject);
    void (async () => {
      for await (const msg of sub) msg.respond(msg.data);
    })();
  };
  respond('bench.ping');
  for (let i = 0; i < FANOUT; i++) respond(`bench.fan.${i}`);
  await nc.flush();
}

process.stdout.write(`ready ${grpcServers.map(([, p]) => p).join(',')}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void (async () => {
    stopping = true;
    await Promise.all(servers.map((s) => s.stop()));
    for (const [s] of grpcServers) s.forceShutdown();
    await nc?.close();
    // Closing wakes the fan-out receivers, which then see stopping.
    await os.close();
    await Promise.allSettled(fanLoops);
    process.exit(0);
  })();
});
