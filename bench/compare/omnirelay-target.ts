/**
 * OmniRelayTarget drives a 3-node OmniRelay cluster started through the project's own LocalCluster
 * launcher (built server, one process per node on 127.0.0.1), through the TypeScript client SDK:
 * - acquire/release/renew through one client that knows every endpoint (the SDK sends writes to
 *   the leader; renewals ride its shared KeepAlive stream);
 * - single writes to a chosen member through one client per member (`endpoints: [thatMember]`;
 *   a follower forwards writes to the leader).
 * With TLS (security `tls`) every node runs peer mTLS (--peer-tls-ca/-cert/-key) and TLS on both
 * client ports with required client certificates (--client-tls-cert/-key/-ca); every client the
 * bench makes presents the bench client certificate through the SDK's `tls` option.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@omnirelay/client-sdk';
import { LocalCluster } from '@omnirelay/server';
import { progress } from '../support/stats';
import type { BenchPki } from './bench-pki';
import type { ScratchDir } from './children';
import { makeScratchDir, trackPids } from './children';
import type { SecurityMode } from './security';
import type { Campaign, HeldScope, HolderSpec, Target, WatchWorkerSpec } from './target';
import { sleep, withDeadline } from './time';
import { readTls } from './tls-files';
import type { TlsPem } from './tls-files';

type Client = ReturnType<typeof createClient>;
type Lease = NonNullable<Awaited<ReturnType<Client['acquire']>>>;

/** OMNIRELAY_CALL_MS_MAX is the SDK's per-call deadline for the leader-routed client. */
const OMNIRELAY_CALL_MS_MAX = 5000;
/** PROBE_CALL_MS_MAX is the per-call deadline of the per-member probe clients (the workloads' 3 s). */
const PROBE_CALL_MS_MAX = 3000;
/** HOLDER_TTL_MS is the holder's lease TTL in workload (f). */
const HOLDER_TTL_MS = 1000;
/** PROBE_TTL_MS is the TTL of the leases that probe writes take (they are resigned by tidy()). */
const PROBE_TTL_MS = 60_000;
/** CAMPAIGN_TTL_MS is the second candidate's TTL in workload (f). */
const CAMPAIGN_TTL_MS = 10_000;
/** STATUS_POLL_MS is how often catch-up checks poll. */
const STATUS_POLL_MS = 20;

/** omniRelayVersion reads the server package's version. */
function omniRelayVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../packages/server/package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * cpuProfArgs are the Node flags that make a process write a V8 CPU profile into `dir` when it
 * exits, sampling every `intervalUs` microseconds (Node's default, 1,000, when undefined: at
 * 100,000 leases that profiler was load enough to collapse a run).
 */
export function cpuProfArgs(dir: string, intervalUs: number | undefined): string[] {
  const args = ['--cpu-prof', '--cpu-prof-dir', dir];
  if (intervalUs !== undefined) args.push('--cpu-prof-interval', String(intervalUs));
  return args;
}

/** OmniRelayTargetOptions configures an OmniRelayTarget; every field is optional. */
export interface OmniRelayTargetOptions {
  /** cpuProfDir, when set, makes every node write a V8 CPU profile there when it stops. */
  readonly cpuProfDir?: string | undefined;
  /** cpuProfIntervalUs is the profiles' sampling interval (Node's default when undefined). */
  readonly cpuProfIntervalUs?: number | undefined;
  /**
   * heapSnapshotDir, when set, makes every node write a V8 heap snapshot there when it gets
   * SIGUSR2 (`heapSnapshots`).
   */
  readonly heapSnapshotDir?: string | undefined;
  /**
   * keepLogsDir, when set, makes every node log at debug level (the Raft core's trace: votes,
   * campaigns and why) and copies each node's log to keepLogsDir/<id>.log when the cluster stops.
   */
  readonly keepLogsDir?: string | undefined;
  /** pki, when set, runs the cluster with TLS and client certificates from it (security `tls`). */
  readonly pki?: BenchPki | undefined;
  /** nodeEnv adds environment variables to every node (e.g. the hops bench's OMNIRELAY_HOP_LEDGER). */
  readonly nodeEnv?: Readonly<Record<string, string>>;
  /** nodeArgs are Node.js or V8 flags added to every node's command line (`--node-arg=FLAG`). */
  readonly nodeArgs?: readonly string[];
  /**
   * callMsMax is the leader-routed client's whole-call deadline, retries included (default
   * OMNIRELAY_CALL_MS_MAX). The SDK retries a BACKPRESSURE refusal with backoff until it.
   */
  readonly callMsMax?: number;
}

/** acquireHeld acquires `scope` through `client` as workload (a) holds it (fails if it is held). */
export async function acquireHeld(client: Client, scope: string, ttlMs: number): Promise<HeldScope> {
  const lease = await client.acquire(scope, { ttlMs });
  if (lease === null) throw new Error(`OmniRelay: scope ${scope} is already held`);
  return {
    scope,
    fence: lease.fence,
    renew: () => client.renew(lease).then(() => undefined),
    release: () => lease.resign().then(() => undefined),
  };
}

/** OmniRelayTarget is OmniRelay on 127.0.0.1, 3 nodes, started fresh by start(). */
export class OmniRelayTarget implements Target {
  readonly name = 'omnirelay' as const;
  /** MEMBERS are the member ids of every cluster of this target (the bench mints their certificates). */
  static readonly MEMBERS: readonly string[] = ['n1', 'n2', 'n3'];
  readonly members: readonly string[] = OmniRelayTarget.MEMBERS;
  readonly holderTtlMs = HOLDER_TTL_MS;
  readonly version = omniRelayVersion();
  readonly security: SecurityMode;

  private cluster: LocalCluster | undefined;
  private dataRoot: ScratchDir | undefined;
  private untrack: (() => void) | undefined;
  private main: Client | undefined;
  private readonly memberClients = new Map<string, Client>();
  private probeLeases: Lease[] = [];
  /** tls is the bench client's certificate, key and CA, read once (TLS runs only). */
  private readonly tls: TlsPem | undefined;

  private readonly cpuProfDir: string | undefined;
  private readonly cpuProfIntervalUs: number | undefined;
  private readonly heapSnapshotDir: string | undefined;
  private readonly keepLogsDir: string | undefined;
  private readonly pki: BenchPki | undefined;
  private readonly nodeEnv: Readonly<Record<string, string>>;
  private readonly nodeArgs: readonly string[];
  private readonly callMsMax: number;

  constructor(options: OmniRelayTargetOptions = {}) {
    this.cpuProfDir = options.cpuProfDir;
    this.cpuProfIntervalUs = options.cpuProfIntervalUs;
    this.heapSnapshotDir = options.heapSnapshotDir;
    this.keepLogsDir = options.keepLogsDir;
    this.pki = options.pki;
    this.nodeEnv = options.nodeEnv ?? {};
    this.nodeArgs = options.nodeArgs ?? [];
    this.callMsMax = options.callMsMax ?? OMNIRELAY_CALL_MS_MAX;
    this.security = this.pki === undefined ? 'off' : 'tls';
    this.tls = this.pki === undefined ? undefined : readTls(this.pki.client);
  }

  /** nodeTlsEnv is node `id`'s TLS settings (the server's OMNIRELAY_* environment equivalents of its flags). */
  private nodeTlsEnv(id: string): Record<string, string> {
    if (this.pki === undefined) return {};
    const node = this.pki.node(id);
    return {
      OMNIRELAY_PEER_TLS_CA: node.caFile,
      OMNIRELAY_PEER_TLS_CERT: node.certFile,
      OMNIRELAY_PEER_TLS_KEY: node.keyFile,
      OMNIRELAY_CLIENT_TLS_CERT: node.certFile,
      OMNIRELAY_CLIENT_TLS_KEY: node.keyFile,
      OMNIRELAY_CLIENT_TLS_CA: node.caFile,
    };
  }

  async start(): Promise<void> {
    this.dataRoot = makeScratchDir('compare-omnirelay-');
    const cluster = await LocalCluster.create({
      size: this.members.length,
      dataRoot: this.dataRoot.path,
      basePort: 0,
      logLevel: this.keepLogsDir === undefined ? 'warn' : 'debug',
      nodeEnv: (id: string) => ({ ...this.nodeEnv, ...this.nodeTlsEnv(id) }),
      ...(this.pki === undefined ? {} : { clientTls: this.pki.client }),
      nodeArgs: [
        ...this.nodeArgs,
        ...(this.cpuProfDir === undefined ? [] : cpuProfArgs(this.cpuProfDir, this.cpuProfIntervalUs)),
        ...(this.heapSnapshotDir === undefined
          ? []
          : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${this.heapSnapshotDir}`]),
      ],
    });
    this.cluster = cluster;
    this.untrack = trackPids(() =>
      cluster.nodes.flatMap((n) => (n.process?.pid !== undefined ? [n.process.pid] : [])),
    );
    cluster.startAll();
    await cluster.waitForLeader(30_000);
    this.main = createClient({
      endpoints: cluster.nodes.map((n) => n.grpcAddress),
      callTimeoutMs: this.callMsMax,
      candidateId: 'bench',
      ...this.tlsOption(),
    });
    for (const n of cluster.nodes) this.memberClients.set(n.id, this.memberClient(n.id));
  }

  private memberClient(member: string): Client {
    return createClient({
      endpoints: [this.started().node(member).grpcAddress],
      callTimeoutMs: PROBE_CALL_MS_MAX,
      candidateId: `bench-${member}`,
      ...this.tlsOption(),
    });
  }

  /** tlsOption is the SDK's `tls` option of every client the bench makes (none in plaintext runs). */
  private tlsOption(): { tls?: TlsPem } {
    return this.tls === undefined ? {} : { tls: this.tls };
  }

  async stop(): Promise<void> {
    for (const c of this.memberClients.values()) c.close();
    this.memberClients.clear();
    this.main?.close();
    this.main = undefined;
    this.probeLeases = [];
    await this.cluster?.stopAll();
    this.keepLogs();
    this.untrack?.();
    this.cluster = undefined;
    this.dataRoot?.remove();
    this.dataRoot = undefined;
  }

  /** keepLogs copies every node's log to keepLogsDir (with --keep-logs), before the data folder goes. */
  private keepLogs(): void {
    if (this.keepLogsDir === undefined || this.cluster === undefined) return;
    mkdirSync(this.keepLogsDir, { recursive: true });
    for (const n of this.cluster.nodes) {
      if (existsSync(n.logFile)) copyFileSync(n.logFile, join(this.keepLogsDir, `${n.id}.log`));
    }
    progress(`node logs copied to ${this.keepLogsDir}`);
  }

  private started(): LocalCluster {
    if (this.cluster === undefined) throw new Error('OmniRelay cluster is not started');
    return this.cluster;
  }

  private client(): Client {
    if (this.main === undefined) throw new Error('OmniRelay client is not open');
    return this.main;
  }

  /** grpcEndpoints are the members' public gRPC addresses. */
  grpcEndpoints(): string[] {
    return this.started().nodes.map((n) => n.grpcAddress);
  }

  /** grpcNodeNames names each member by its public gRPC address. */
  grpcNodeNames(): Record<string, string> {
    return Object.fromEntries(this.started().nodes.map((n) => [n.grpcAddress, n.id]));
  }

  /** pid is `member`'s node process id, or undefined while it is not running. */
  pid(member: string): number | undefined {
    return this.started().node(member).process?.pid;
  }

  /** clientAddress is `member`'s client HTTP address (host:port). */
  clientAddress(member: string): string {
    return this.started().node(member).clientAddress;
  }

  /** httpGet sends a GET to `member`'s client HTTP port and answers the status and parsed body. */
  async httpGet(member: string, path: string): Promise<{ status: number; body: unknown }> {
    const reply = await this.started().get(member, path, 10_000);
    return { status: reply.status, body: reply.body };
  }

  /**
   * heapSnapshots makes each running node write a V8 heap snapshot (with `heapSnapshotDir`), one
   * node at a time: SIGUSR2, then its /status is asked until it answers (the node writes the
   * snapshot on its main thread, so it answers nothing meanwhile), within `timeoutMs` per node.
   */
  async heapSnapshots(timeoutMs: number): Promise<void> {
    const dir = this.heapSnapshotDir;
    if (dir === undefined) throw new Error('heapSnapshots needs heapSnapshotDir');
    for (const member of this.members) {
      const pid = this.pid(member);
      if (pid === undefined) continue;
      const began = performance.now();
      process.kill(pid, 'SIGUSR2');
      // Asked until it answers: a connection the frozen node's HTTP server let lapse fails once.
      for (let answered = false; !answered;) {
        await sleep(200);
        if (performance.now() - began > timeoutMs) {
          throw new Error(`${member} (pid ${pid}) did not answer within ${timeoutMs} ms of SIGUSR2`);
        }
        // httpGet bounds each ask itself.
        answered = await this.httpGet(member, '/status').then(
          () => true,
          () => false,
        );
      }
      const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && f.includes(`.${pid}.`));
      if (file === undefined) throw new Error(`${member} (pid ${pid}) wrote no heap snapshot in ${dir}`);
      progress(
        `omnirelay: ${member} wrote ${join(dir, file)} in ${((performance.now() - began) / 1000).toFixed(1)} s`,
      );
    }
  }

  leader(timeoutMs: number): Promise<string> {
    return this.started().waitForLeader(timeoutMs);
  }

  async raftTerm(member: string): Promise<bigint> {
    const s = await this.started().status(member);
    if (s === undefined) throw new Error(`OmniRelay ${member} did not answer /status`);
    return BigInt(s.term);
  }

  acquire(scope: string, ttlMs: number): Promise<HeldScope> {
    return acquireHeld(this.client(), scope, ttlMs);
  }

  /** write is one probe write through `member`'s client; `correlationId` tags it in the hop ledger. */
  async write(member: string, key: string, deadlineMs: number, correlationId?: string): Promise<bigint> {
    const c = this.memberClients.get(member);
    if (c === undefined) throw new Error(`no OmniRelay client for ${member}`);
    const lease = await withDeadline(
      c.acquire(key, { ttlMs: PROBE_TTL_MS, ...(correlationId === undefined ? {} : { correlationId }) }),
      deadlineMs,
      `write via ${member}`,
    );
    if (lease === null) throw new Error(`OmniRelay: probe scope ${key} is already held`);
    this.probeLeases.push(lease);
    return lease.raftTerm;
  }

  /** tidy resigns the leases that probe writes took (the SDK would otherwise keep renewing them). */
  async tidy(): Promise<void> {
    const leases = this.probeLeases;
    this.probeLeases = [];
    await Promise.all(leases.map((l) => l.resign().catch(() => undefined)));
  }

  async kill(member: string): Promise<void> {
    await this.started().kill(member, 'SIGKILL');
  }

  async restart(member: string, timeoutMs: number): Promise<void> {
    const cluster = this.started();
    await this.tidy();
    // A fresh client: the old one's channel sits in reconnect backoff after the kill.
    this.memberClients.get(member)?.close();
    cluster.start(member);
    this.memberClients.set(member, this.memberClient(member));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await cluster.leader();
      if (leader !== undefined) {
        const [l, s] = await Promise.all([cluster.status(leader), cluster.status(member)]);
        if (l !== undefined && s !== undefined && s.applied >= l.commit) return;
      }
      await sleep(STATUS_POLL_MS);
    }
    throw new Error(`OmniRelay ${member} did not catch up within ${timeoutMs} ms`);
  }

  async transferLeadership(_from: string, to: string): Promise<void> {
    await this.client().transferLeadership(to);
  }

  watchSpec(member: string): WatchWorkerSpec {
    return {
      target: 'omnirelay',
      endpoint: this.started().node(member).grpcAddress,
      ...(this.pki === undefined ? {} : { tls: this.pki.client }),
    };
  }

  holderSpec(scope: string, releaseOnResetMs: number | undefined): HolderSpec {
    return {
      target: 'omnirelay',
      endpoints: this.started().nodes.map((n) => n.grpcAddress),
      scope,
      ttlMs: HOLDER_TTL_MS,
      ...(releaseOnResetMs !== undefined ? { releaseOnResetMs } : {}),
      ...(this.pki === undefined ? {} : { tls: this.pki.client }),
    };
  }

  campaign(scope: string): Campaign {
    const abort = new AbortController();
    let lease: Lease | undefined;
    const elected = this.client()
      .campaign(scope, { ttlMs: CAMPAIGN_TTL_MS, signal: abort.signal })
      .then((l) => {
        lease = l;
      });
    elected.catch(() => undefined);
    return {
      elected,
      close: async () => {
        if (lease !== undefined) await lease.resign().catch(() => undefined);
        else abort.abort();
      },
    };
  }
}
