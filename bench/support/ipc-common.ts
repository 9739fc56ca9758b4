// Shared by both sides of the ipc benchmark: the gRPC echo service and the names in use.
import * as grpc from '@grpc/grpc-js';

export const FANOUT = 40;
export const BATCH = 20;
export const PING_SERVICE = 'bench.ping';
export const fanMailbox = (i: number) => `bench.fan.${i}`;
export const fanService = (i: number) => `bench.fansvc.${i}`;
export const NATS_URL = '127.0.0.1:4222';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};

/** One unary method with JSON messages; no .proto needed for an echo. */
export const echoService: grpc.ServiceDefinition = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

export function grpcEcho(client: grpc.Client, msg: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (
      client as unknown as {
        echo: (m: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
      }
    ).echo(msg, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export async function natsAnswers(): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: 4222 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('data', (d) => done(d.toString().startsWith('INFO')));
    s.once('error', () => done(false));
    setTimeout(() => done(false), 1000).unref();
  });
}
