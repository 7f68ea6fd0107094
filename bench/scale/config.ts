/**
 * ScaleConfig holds every count and duration of the scale bench, from the command line:
 * `--leases N` (default 100,000), `--clients N` (100), `--lease-workers N` (worker threads the
 * clients run in, and etcd's leases, 4), `--watchers N` (1,000), `--duration S` (the sustained window in seconds,
 * 60), `--ttl-ms N` (10,000), `--only omnirelay|etcd`, `--cpu-prof DIR` (a V8 CPU profile of every
 * OmniRelay node and of every lease worker thread), `--cpu-prof-interval-us N` (their sampling
 * interval, with `--cpu-prof`: Node's 1,000 µs profiler collapsed a run at 100,000 leases; 10,000
 * costs a tenth of it), `--keep-logs DIR` (every OmniRelay node logs at debug level, and its log is copied
 * to DIR/<id>.log when the cluster stops: elections and their causes, from the Raft core's trace),
 * `--fault-gap-ms N` (the wait between the planned transfer and the kill, default one TTL + 2 s:
 * the kill finds the load settled, and each fault's losses are counted on their own; 3000 makes
 * them one double failover, as the runs before session 22 did) and `--smoke` (a small run: 2,000 leases,
 * 10 clients, 100 watchers, 15 s).
 */
import { resolve } from 'node:path';
import { SetupError } from '../compare/etcd-install';
import { nodeArgOf } from '../support/options';

/** ScaleConfig is the validated configuration of one invocation. */
export interface ScaleConfig {
  readonly leases: number;
  readonly clients: number;
  readonly leaseWorkers: number;
  readonly watchers: number;
  readonly watchWorkers: number;
  readonly durationMs: number;
  readonly ttlMs: number;
  /** faultGapMs is the wait between the planned transfer's answer and the kill. */
  readonly faultGapMs: number;
  /** acquireConcurrency is how many acquires each client keeps in flight while filling up. */
  readonly acquireConcurrency: number;
  /** watchWriteGapMs spaces the watch probe writes over the sustained window. */
  readonly watchWriteGapMs: number;
  /** etcdRenewInflightMax bounds the etcd keep-alive requests in flight, per lease worker. */
  readonly etcdRenewInflightMax: number;
  /** etcdKeepAliveStreams is how many etcd clients, each with one keep-alive stream, each lease worker opens. */
  readonly etcdKeepAliveStreams: number;
  /** etcdAcquireConcurrency is how many etcd grant + txn pairs are in flight while filling up (all workers). */
  readonly etcdAcquireConcurrency: number;
  readonly only: 'omnirelay' | 'etcd' | undefined;
  readonly cpuProfDir: string | undefined;
  /** cpuProfIntervalUs is the profiles' sampling interval in µs (undefined: Node's default, 1,000). */
  readonly cpuProfIntervalUs: number | undefined;
  readonly keepLogsDir: string | undefined;
  /**
   * heapSnapshotDir, when set, makes every node take a V8 heap snapshot into it at the end of the
   * sustained window (a node stops for seconds while it writes one, so the faults after it are
   * not comparable with a run without).
   */
  readonly heapSnapshotDir: string | undefined;
  /** nodeArgs are Node.js or V8 flags added to every OmniRelay node (`--node-arg=FLAG`, repeatable). */
  readonly nodeArgs: readonly string[];
}

/** USAGE is printed for a bad command line. */
export const USAGE =
  'usage: npm run bench -- scale [--smoke] [--leases N] [--clients N] [--lease-workers N] [--watchers N] [--duration S] [--ttl-ms N] [--fault-gap-ms N] [--only omnirelay|etcd] [--cpu-prof DIR [--cpu-prof-interval-us N]] [--keep-logs DIR] [--heap-snapshot DIR] [--node-arg=FLAG ...]';

/** LEASES_MAX bounds --leases (the workload is 100,000). */
const LEASES_MAX = 1_000_000;
/** DURATION_S_MAX bounds --duration. */
const DURATION_S_MAX = 3600;

const BOUNDS: Record<string, readonly [number, number]> = {
  '--leases': [1, LEASES_MAX],
  '--clients': [1, 1000],
  '--lease-workers': [1, 32],
  '--watchers': [1, 10_000],
  '--duration': [5, DURATION_S_MAX],
  '--ttl-ms': [2000, 3_600_000],
  '--fault-gap-ms': [0, 600_000],
  '--cpu-prof-interval-us': [100, 1_000_000],
};

/** parseScaleConfig reads the command line (the arguments after the bench name); it throws SetupError on a bad one. */
export function parseScaleConfig(argv: readonly string[]): ScaleConfig {
  const n: Record<string, number> = {};
  let smoke = false;
  let only: ScaleConfig['only'];
  let cpuProfDir: string | undefined;
  let keepLogsDir: string | undefined;
  let heapSnapshotDir: string | undefined;
  const nodeArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const nodeArg = nodeArgOf(a, (reason) => new SetupError(`${reason}\n${USAGE}`));
    if (nodeArg !== undefined) {
      nodeArgs.push(nodeArg);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new SetupError(`${name} needs a value\n${USAGE}`);
      return v;
    };
    /** folder reads a folder option's value: a path, not empty and not the next option. */
    const folder = (): string => {
      const v = value();
      if (v === '' || v.startsWith('--')) throw new SetupError(`${name} needs a folder\n${USAGE}`);
      return resolve(v);
    };
    if (name === '--smoke') smoke = true;
    else if (name === '--only') {
      const v = value();
      if (v !== 'omnirelay' && v !== 'etcd') throw new SetupError(`--only takes omnirelay or etcd\n${USAGE}`);
      only = v;
    } else if (name === '--cpu-prof') cpuProfDir = folder();
    else if (name === '--keep-logs') keepLogsDir = folder();
    else if (name === '--heap-snapshot') heapSnapshotDir = folder();
    else if (name in BOUNDS) {
      const [lo, hi] = BOUNDS[name]!;
      const v = Number(value());
      if (!Number.isInteger(v) || v < lo || v > hi) {
        throw new SetupError(`${name} must be an integer from ${lo} to ${hi}\n${USAGE}`);
      }
      n[name] = v;
    } else throw new SetupError(`unknown option ${a}\n${USAGE}`);
  }
  if (n['--cpu-prof-interval-us'] !== undefined && cpuProfDir === undefined) {
    throw new SetupError(`--cpu-prof-interval-us needs --cpu-prof DIR\n${USAGE}`);
  }
  const leases = n['--leases'] ?? (smoke ? 2000 : 100_000);
  const clients = Math.min(n['--clients'] ?? (smoke ? 10 : 100), leases);
  const ttlMs = n['--ttl-ms'] ?? 10_000;
  return {
    leases,
    clients,
    leaseWorkers: Math.min(n['--lease-workers'] ?? 4, clients),
    watchers: n['--watchers'] ?? (smoke ? 100 : 1000),
    watchWorkers: 4,
    durationMs: (n['--duration'] ?? (smoke ? 15 : 60)) * 1000,
    ttlMs,
    faultGapMs: n['--fault-gap-ms'] ?? ttlMs + 2000,
    acquireConcurrency: 4,
    watchWriteGapMs: 250,
    etcdRenewInflightMax: 512,
    etcdKeepAliveStreams: 4,
    etcdAcquireConcurrency: 128,
    only,
    cpuProfDir,
    cpuProfIntervalUs: n['--cpu-prof-interval-us'],
    keepLogsDir,
    heapSnapshotDir,
    nodeArgs,
  };
}
