/**
 * The floors the hop ledger's steps are judged against, measured in the same invocation: a
 * loopback TCP round trip (127.0.0.1, one small message each way, Nagle off) and a 4 KiB write
 * followed by fdatasync in the folder the cluster's data lives in.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { percentile } from '../support/stats';

/** Floors are the medians (and p99s) of the two floors, in ms. */
export interface Floors {
  readonly rttMs: { readonly median: number; readonly p99: number; readonly count: number };
  readonly fsync4KiBMs: { readonly median: number; readonly p99: number; readonly count: number };
}

/** RTT_ROUNDS and FSYNC_ROUNDS are how many round trips and synced writes each floor takes. */
const RTT_ROUNDS = 2000;
const FSYNC_ROUNDS = 300;
const FSYNC_BYTES = 4096;

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

/** measureFloors measures both floors; `dir` is where the fsync floor writes. */
export async function measureFloors(dir: string): Promise<Floors> {
  const rtt = await measureRtt();
  const fsync = measureFsync(dir);
  const figure = (v: number[]): Floors['rttMs'] => ({
    median: round3(percentile(v, 50)),
    p99: round3(percentile(v, 99)),
    count: v.length,
  });
  return { rttMs: figure(rtt), fsync4KiBMs: figure(fsync) };
}

/** round3 rounds to 3 decimals (µs). */
export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
