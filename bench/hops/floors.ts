/**
 * The floors the hop ledger's steps are judged against, measured in the same invocation:
 *
 * - between this process and a child of its own (floor-peer.ts), as every hop of the ledger
 *   crosses processes: a loopback TCP round trip, a grpc-js unary call (a 100-byte Buffer each
 *   way, no proto, no interceptors) and a message's round trip on an open grpc-js bidirectional
 *   stream (the shape of the Raft peer stream and of Cluster.Forward), each call `CROSS_GAP_MS`
 *   after the one before (the processes idle between hops, as the ledger's writes find them);
 * - a loopback TCP round trip inside this process (no second process to wake: the floors before
 *   session 28 used only this one, which is 4–5× below a hop between processes);
 * - a 4 KiB write followed by fdatasync in the folder the cluster's data lives in;
 * - with crashes, `kill -9` of a child holding as much memory as the killed leaders did, until a
 *   peer's connection to it is seen reset: the kernel frees a process's memory before it closes
 *   its sockets, so a larger process is seen dead later (about 0.1 ms per MiB here).
 */
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { stopChild, track } from '../compare/children';
import { sleep, withDeadline } from '../compare/time';
import { percentile } from '../support/stats';

/** Figure is a floor's median and p99 over `count` samples, in ms. */
export interface Figure {
  readonly median: number;
  readonly p99: number;
  readonly count: number;
}

/** Floors are the floors' figures, in ms. */
export interface Floors {
  /** rttMs is a loopback TCP round trip inside this process. */
  readonly rttMs: Figure;
  /** processRttMs is a loopback TCP round trip to another process. */
  readonly processRttMs: Figure;
  /** grpcUnaryRttMs is a bare grpc-js unary call to another process. */
  readonly grpcUnaryRttMs: Figure;
  /** grpcStreamRttMs is a message's round trip on an open grpc-js bidirectional stream to another process. */
  readonly grpcStreamRttMs: Figure;
  readonly fsync4KiBMs: Figure;
}

/** KillFloor is `kill -9` of a process holding `rssMiB` → its peer sees the connection reset. */
export interface KillFloor extends Figure {
  readonly rssMiB: number;
}

/** RTT_ROUNDS and FSYNC_ROUNDS are how many round trips and synced writes the in-process floors take. */
const RTT_ROUNDS = 2000;
const FSYNC_ROUNDS = 300;
const FSYNC_BYTES = 4096;
/** CROSS_ROUNDS is how many round trips each floor between processes takes (after CROSS_WARMUP unmeasured ones). */
const CROSS_ROUNDS = 500;
const CROSS_WARMUP = 20;
/** CROSS_GAP_MS is the pause before each round trip between processes. */
const CROSS_GAP_MS = 2;
/** PEER_START_MS_MAX bounds the wait for the floor peer to listen (or a victim to connect). */
const PEER_START_MS_MAX = 20_000;
/** ROUND_MS_MAX bounds one round trip, or one victim's death, of the floors between processes. */
const ROUND_MS_MAX = 5000;
/** KILL_ROUNDS is how many victims the kill floor kills. */
const KILL_ROUNDS = 5;

const identity = (b: Buffer): Buffer => b;

/** ECHO_SERVICE is the grpc-js service of the gRPC floors, served by floor-peer.ts. */
export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Unary: {
    path: '/omnirelay.bench.Echo/Unary',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
  Bidi: {
    path: '/omnirelay.bench.Echo/Bidi',
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

interface EchoClient extends grpc.Client {
  Unary(request: Buffer, callback: (error: grpc.ServiceError | null) => void): grpc.ClientUnaryCall;
  Bidi(): grpc.ClientDuplexStream<Buffer, Buffer>;
}

/** startPeer spawns floor-peer.ts with `args`; `ready` resolves with its first stdout line. */
function startPeer(args: readonly string[]): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(__dirname, 'floor-peer.ts'), ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  track(child);
  const ready = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const end = out.indexOf('\n');
      if (end !== -1) resolve(out.slice(0, end));
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`floor peer exited (${signal ?? `code ${String(code)}`})`)),
    );
  });
  ready.catch(() => undefined);
  return { child, ready };
}

/** timeRounds awaits `once` CROSS_WARMUP times unmeasured, then CROSS_ROUNDS times, each after CROSS_GAP_MS. */
async function timeRounds(once: () => Promise<void>): Promise<number[]> {
  const bounded = (): Promise<void> => withDeadline(once(), ROUND_MS_MAX, 'a floor round trip');
  for (let i = 0; i < CROSS_WARMUP; i++) await bounded();
  const samples: number[] = [];
  for (let i = 0; i < CROSS_ROUNDS; i++) {
    await sleep(CROSS_GAP_MS);
    const started = performance.now();
    await bounded();
    samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * startEchoPeer starts floor-peer.ts in echo mode and answers it with its TCP and gRPC ports
 * (ECHO_SERVICE); the caller stops it by PID (stopChild).
 */
export async function startEchoPeer(): Promise<{ child: ChildProcess; tcpPort: number; grpcPort: number }> {
  const { child, ready } = startPeer(['echo']);
  try {
    const [, tcpPort, grpcPort] = (await withDeadline(ready, PEER_START_MS_MAX, 'floor peer start')).split(
      ' ',
    );
    return { child, tcpPort: Number(tcpPort), grpcPort: Number(grpcPort) };
  } catch (e) {
    await stopChild(child, 'SIGKILL');
    throw e;
  }
}

/** measureCrossProcess times the TCP, gRPC unary and gRPC stream round trips to a floor peer. */
async function measureCrossProcess(): Promise<{ tcp: number[]; unary: number[]; stream: number[] }> {
  const { child, tcpPort, grpcPort } = await startEchoPeer();
  let socket: Socket | undefined;
  let client: EchoClient | undefined;
  try {
    socket = createConnection({ host: '127.0.0.1', port: tcpPort });
    socket.setNoDelay(true);
    const s = socket;
    await withDeadline(
      new Promise<void>((resolve) => s.once('connect', resolve)),
      ROUND_MS_MAX,
      'the floor peer’s TCP connection',
    );
    const ping = Buffer.alloc(8, 1);
    const tcp = await timeRounds(
      () =>
        new Promise<void>((resolve) => {
          s.once('data', () => resolve());
          s.write(ping);
        }),
    );
    const Client = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
    client = new Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
    const c = client;
    const payload = Buffer.alloc(100, 1);
    const unary = await timeRounds(
      () =>
        new Promise<void>((resolve, reject) => c.Unary(payload, (e) => (e === null ? resolve() : reject(e)))),
    );
    const call = c.Bidi();
    call.on('error', () => undefined);
    const stream = await timeRounds(
      () =>
        new Promise<void>((resolve) => {
          call.once('data', () => resolve());
          call.write(payload);
        }),
    );
    call.end();
    return { tcp, unary, stream };
  } finally {
    socket?.destroy();
    client?.close();
    await stopChild(child, 'SIGKILL');
  }
}

/** measureRtt times `RTT_ROUNDS` ping-pongs of 8 bytes over one loopback connection. */
export async function measureRtt(): Promise<number[]> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const socket = createConnection({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const samples: number[] = [];
  const ping = Buffer.alloc(8, 1);
  for (let i = 0; i < RTT_ROUNDS; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      socket.once('data', () => resolve());
      socket.write(ping);
    });
    samples.push(performance.now() - started);
  }
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return samples;
}

/** measureFsync times `FSYNC_ROUNDS` 4 KiB writes, each followed by fdatasync, in `dir`. */
export function measureFsync(dir: string): number[] {
  const file = join(dir, 'fsync-floor.bin');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(FSYNC_BYTES, 7);
  const samples: number[] = [];
  try {
    for (let i = 0; i < FSYNC_ROUNDS; i++) {
      const started = performance.now();
      writeSync(fd, block, 0, block.length, i * FSYNC_BYTES);
      fdatasyncSync(fd);
      samples.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return samples;
}

/** figure is the median and p99 of `v`. */
function figure(v: number[]): Figure {
  return { median: round3(percentile(v, 50)), p99: round3(percentile(v, 99)), count: v.length };
}

/** measureFloors measures every floor but the kill floor; `dir` is where the fsync floor writes. */
export async function measureFloors(dir: string): Promise<Floors> {
  const rtt = await measureRtt();
  const cross = await measureCrossProcess();
  const fsync = measureFsync(dir);
  return {
    rttMs: figure(rtt),
    processRttMs: figure(cross.tcp),
    grpcUnaryRttMs: figure(cross.unary),
    grpcStreamRttMs: figure(cross.stream),
    fsync4KiBMs: figure(fsync),
  };
}

/**
 * measureKillFloor times, KILL_ROUNDS times, `kill -9` of a child holding `rssMiB` MiB of memory
 * until this process sees its connection to the child reset.
 */
export async function measureKillFloor(rssMiB: number): Promise<KillFloor> {
  const samples: number[] = [];
  for (let round = 0; round < KILL_ROUNDS; round++) {
    let connected!: (socket: Socket) => void;
    const accepted = new Promise<Socket>((resolve) => (connected = resolve));
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => connected(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const { child } = startPeer(['victim', String(Math.round(rssMiB)), String(port)]);
    try {
      const socket = await withDeadline(accepted, PEER_START_MS_MAX, 'kill floor victim');
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const started = performance.now();
      process.kill(child.pid!, 'SIGKILL');
      await withDeadline(closed, ROUND_MS_MAX, 'the kill floor victim’s reset');
      samples.push(performance.now() - started);
    } finally {
      await stopChild(child, 'SIGKILL');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
  return { ...figure(samples), rssMiB: Math.round(rssMiB) };
}

/** round3 rounds to 3 decimals (µs). */
export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
