/**
 * The other process of the hop ledger's floors (floors.ts). Two modes:
 *
 * - `echo`: a TCP echo server and a grpc-js server (a unary method and a bidirectional stream,
 *   both answering the bytes they were sent, no proto, no interceptors) on 127.0.0.1; prints
 *   `ports <tcp> <grpc>` and serves until killed.
 * - `victim <MiB> <port>`: is `MiB` MiB resident (its own memory topped up with touched
 *   buffers), connects to 127.0.0.1:`port`, writes one byte and waits to be killed (the floor of
 *   "a dead leader's connection is seen lost": the kernel frees a killed process's memory before
 *   it closes its sockets).
 */
import * as grpc from '@grpc/grpc-js';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ECHO_SERVICE } from './floors';

async function echo(): Promise<void> {
  const tcp = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, call.request),
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (d: Buffer) => call.write(d));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) =>
      e === null ? resolve(port) : reject(e),
    ),
  );
  process.stdout.write(`ports ${(tcp.address() as AddressInfo).port} ${grpcPort}\n`);
}

function victim(mib: number, port: number): void {
  const held: Buffer[] = [];
  // The process's own resident memory counts: it is topped up to `mib` MiB in all.
  const own = Math.ceil(process.memoryUsage().rss / 2 ** 20);
  for (let i = own; i < mib; i++) held.push(Buffer.alloc(1 << 20, 1));
  const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('x'));
  socket.on('error', () => undefined);
  // Keeps `held` reachable and the process alive until the bench kills it.
  setInterval(() => held.length, 60_000);
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'echo') {
  echo().catch((e: unknown) => {
    process.stderr.write(`floor-peer: ${String(e)}\n`);
    process.exit(1);
  });
} else if (mode === 'victim' && a !== undefined && b !== undefined) {
  victim(Number(a), Number(b));
} else {
  process.stderr.write('usage: floor-peer.ts echo | victim <MiB> <port>\n');
  process.exit(2);
}
