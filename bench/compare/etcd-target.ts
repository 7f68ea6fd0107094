/**
 * EtcdTarget drives a 3-member etcd 3.4 cluster through the `etcd3` npm client, the way an etcd user
 * builds leases on scopes:
 * - acquire = LeaseGrant(ttl in whole seconds) + Txn(if create_revision(key) == 0 then put(key, lease));
 *   the fence is the Txn's header revision; release = LeaseRevoke (which deletes the key);
 * - renew = one LeaseKeepAlive request over one long-lived keep-alive stream per member client
 *   (etcd's Go client multiplexes every lease of a client onto one stream the same way);
 * - the holder workload uses etcd3's Election (the Go client's concurrency.Election recipe).
 * There is one client per member (single host, no retries, no circuit breaker), so every call goes
 * exactly where the bench sends it; calls through "the leader" use the leader member's client.
 * With TLS (security `tls`) the members run with client and peer certificate authentication and
 * every client presents the bench client certificate.
 */
import { CompareResult, CompareTarget, Etcd3 } from 'etcd3';
import type { IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import { noop } from 'cockatiel';
import type { BenchPki } from './bench-pki';
import type { ScratchDir } from './children';
import { makeScratchDir } from './children';
import { EtcdCluster } from './etcd-cluster';
import type { SecurityMode } from './security';
import type { Campaign, HeldScope, HolderSpec, Target, WatchWorkerSpec } from './target';
import { sleep, withDeadline } from './time';
import type { TlsPem } from './tls-files';
import { readTls } from './tls-files';

/** ETCD_CALL_MS_MAX is the deadline of every unary call the bench makes to etcd (and of each keep-alive). */
export const ETCD_CALL_MS_MAX = 5000;
/** ETCD_SESSION_TTL_MS is etcd's smallest lease TTL with a 1 s election timeout (1.5 × election timeout, rounded up to whole seconds). */
const ETCD_SESSION_TTL_MS = 2000;
/** STATUS_POLL_MS is how often leader and catch-up checks poll. */
const STATUS_POLL_MS = 20;

/** etcdCredentials is the etcd3 client's `credentials` option for `tls` (none in plaintext). */
export function etcdCredentials(tls: TlsPem | undefined): {
  credentials?: { rootCertificate: Buffer; privateKey: Buffer; certChain: Buffer };
} {
  return tls === undefined
    ? {}
    : { credentials: { rootCertificate: tls.ca, privateKey: tls.key, certChain: tls.cert } };
}

/**
 * etcdClient makes a client of one member: no retry policy and no circuit breaker, a deadline on
 * every unary call; with `tls`, over TLS presenting its certificate.
 */
export function etcdClient(hosts: string | string[], tls?: TlsPem): Etcd3 {
  return new Etcd3({
    hosts,
    ...etcdCredentials(tls),
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: new Date(Date.now() + ETCD_CALL_MS_MAX) },
  });
}

/** leaseTtlSeconds converts a TTL in ms to etcd's whole seconds (at least 1; etcd raises it to its minimum). */
function leaseTtlSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/**
 * grantLeaseOnKey is compare's acquire on one client: LeaseGrant (`ttlMs` in whole seconds), then
 * Txn(if create_revision(key) == 0 then put(key, value, lease)). When the key is already taken it
 * revokes the lease and throws; otherwise it returns the lease id and the Txn's revision (the fence).
 */
export async function grantLeaseOnKey(
  c: Etcd3,
  scope: string,
  ttlMs: number,
  value: string,
): Promise<{ readonly id: string; readonly revision: bigint }> {
  const grant = await c.leaseClient.leaseGrant({ TTL: leaseTtlSeconds(ttlMs) });
  const key = Buffer.from(scope);
  const txn = await c.kv.txn({
    compare: [{ key, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 }],
    success: [{ request_put: { key, value: Buffer.from(value), lease: grant.ID } }],
  });
  if (!txn.succeeded) {
    await c.leaseClient.leaseRevoke({ ID: grant.ID }).catch(() => undefined);
    throw new Error(`etcd: scope ${scope} is already held`);
  }
  return { id: grant.ID, revision: BigInt(txn.header.revision) };
}

/** EtcdLeaseGoneError is how a keep-alive fails when etcd no longer has the lease (it answered TTL ≤ 0). */
export class EtcdLeaseGoneError extends Error {
  override readonly name = 'EtcdLeaseGoneError';
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * KeepAliveStream is one long-lived LeaseKeepAlive stream. etcd answers each request in order, so
 * each response is matched with the oldest pending request for its lease id. A renew rejects with
 * EtcdLeaseGoneError when the lease is gone; once the stream failed, every renew rejects.
 */
export class KeepAliveStream {
  private readonly waiters = new Map<string, Waiter[]>();
  private failure: Error | undefined;

  constructor(private readonly stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>) {
    stream.on('data', (res) => {
      const queue = this.waiters.get(res.ID);
      const w = queue?.shift();
      if (queue?.length === 0) this.waiters.delete(res.ID);
      if (w === undefined) return;
      clearTimeout(w.timer);
      if (Number(res.TTL) <= 0)
        w.reject(new EtcdLeaseGoneError(`etcd lease ${res.ID} is gone (TTL ${res.TTL})`));
      else w.resolve();
    });
    stream.on('error', (e) => this.failAll(e));
    stream.on('end', () => this.failAll(new Error('keep-alive stream ended')));
  }

  renew(id: string, deadlineMs: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const queue = this.waiters.get(id);
        const i = queue?.findIndex((w) => w.timer === timer) ?? -1;
        if (i >= 0) queue!.splice(i, 1);
        reject(new Error(`etcd keep-alive of lease ${id} timed out after ${deadlineMs} ms`));
      }, deadlineMs);
      const queue = this.waiters.get(id) ?? [];
      queue.push({ resolve, reject, timer });
      this.waiters.set(id, queue);
      this.stream.write({ ID: id });
    });
  }

  close(): void {
    this.failAll(new Error('keep-alive stream closed'));
    this.stream.cancel();
  }

  private failAll(e: Error): void {
    this.failure ??= e;
    for (const queue of this.waiters.values()) {
      for (const w of queue) {
        clearTimeout(w.timer);
        w.reject(e);
      }
    }
    this.waiters.clear();
  }
}

/** EtcdTarget is etcd 3.4 on 127.0.0.1, 3 members, started fresh by start(). */
export class EtcdTarget implements Target {
  readonly name = 'etcd' as const;
  /** MEMBERS are the member ids of every cluster of this target (the bench mints their certificates). */
  static readonly MEMBERS: readonly string[] = ['e1', 'e2', 'e3'];
  readonly members: readonly string[] = EtcdTarget.MEMBERS;
  readonly holderTtlMs = ETCD_SESSION_TTL_MS;
  readonly security: SecurityMode;

  private cluster: EtcdCluster | undefined;
  private dataRoot: ScratchDir | undefined;
  private readonly clients = new Map<string, Etcd3>();
  private readonly names = new Map<string, string>();
  private readonly keepAlives = new Map<string, Promise<KeepAliveStream>>();
  private generation = 0;
  /** leaderName is the leader found by the last leader() call; kill and transfer forget it. */
  private leaderName: string | undefined;

  /** tls is the bench client's certificate, key and CA, read once (TLS runs only). */
  private readonly tls: TlsPem | undefined;

  /** pki, when set, runs the cluster with TLS and client certificates from it (security `tls`). */
  constructor(
    private readonly binary: string,
    readonly version: string,
    private readonly pki?: BenchPki,
  ) {
    this.security = pki === undefined ? 'off' : 'tls';
    this.tls = pki === undefined ? undefined : readTls(pki.client);
  }

  async start(): Promise<void> {
    this.generation++;
    this.dataRoot = makeScratchDir('compare-etcd-');
    this.cluster = await EtcdCluster.create({
      binary: this.binary,
      size: this.members.length,
      dataRoot: this.dataRoot.path,
      token: `compare-${process.pid}-${this.security}-${this.generation}`,
      ...(this.pki === undefined ? {} : { tls: this.pki.node.bind(this.pki) }),
    });
    this.cluster.startAll();
    for (const m of this.cluster.members) this.clients.set(m.name, etcdClient(m.clientUrl, this.tls));
    await this.leader(30_000);
  }

  async stop(): Promise<void> {
    for (const k of this.keepAlives.values()) {
      await k.then((stream) => stream.close()).catch(() => undefined);
    }
    this.keepAlives.clear();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    this.names.clear();
    await this.cluster?.stopAll();
    this.cluster = undefined;
    this.dataRoot?.remove();
    this.dataRoot = undefined;
  }

  /** pids lists the running members' PIDs (for the exit handler). */
  pids(): number[] {
    return this.cluster?.pids() ?? [];
  }

  private client(member: string): Etcd3 {
    const c = this.clients.get(member);
    if (c === undefined) throw new Error(`no etcd client for ${member}`);
    return c;
  }

  private running(): string[] {
    return (this.cluster?.members ?? []).filter((m) => m.process !== undefined).map((m) => m.name);
  }

  /** memberStatus asks one member for its status and learns its member id. */
  private async memberStatus(
    member: string,
  ): Promise<{ leaderId: string; term: bigint; commit: bigint; applied: bigint }> {
    const s = await this.client(member).maintenance.status({ deadline: new Date(Date.now() + 1000) });
    this.names.set(s.header.member_id, member);
    return {
      leaderId: s.leader,
      term: BigInt(s.raftTerm),
      commit: BigInt(s.raftIndex),
      applied: BigInt(s.raftAppliedIndex),
    };
  }

  async leader(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const running = this.running();
      const statuses = await Promise.all(running.map((m) => this.memberStatus(m).catch(() => undefined)));
      const ids = new Set(statuses.map((s) => s?.leaderId ?? 'none'));
      const [only] = [...ids];
      if (ids.size === 1 && only !== undefined && only !== '0' && only !== 'none') {
        const name = this.names.get(only);
        if (name !== undefined && running.includes(name)) {
          this.leaderName = name;
          return name;
        }
      }
      await sleep(STATUS_POLL_MS);
    }
    throw new Error(
      `etcd: no agreed leader within ${timeoutMs} ms; logs in ${this.dataRoot?.path ?? '?'}/logs`,
    );
  }

  async raftTerm(member: string): Promise<bigint> {
    return (await this.memberStatus(member)).term;
  }

  private idOf(member: string): string {
    for (const [id, name] of this.names) if (name === member) return id;
    throw new Error(`etcd member id of ${member} is not known yet`);
  }

  async acquire(scope: string, ttlMs: number): Promise<HeldScope> {
    const leader = await this.cachedLeader();
    const c = this.client(leader);
    const { id, revision } = await grantLeaseOnKey(c, scope, ttlMs, leader);
    return {
      scope,
      fence: revision,
      renew: async () => (await this.keepAlive(leader)).renew(id, ETCD_CALL_MS_MAX),
      release: async () => {
        await c.leaseClient.leaseRevoke({ ID: id });
      },
    };
  }

  /** cachedLeader is the leader found by the last leader() call (kill and transfer forget it). */
  private async cachedLeader(): Promise<string> {
    this.leaderName ??= await this.leader(10_000);
    return this.leaderName;
  }

  /** keepAlive returns the long-lived keep-alive stream of `member`'s client, opening it on first use. */
  private keepAlive(member: string): Promise<KeepAliveStream> {
    let k = this.keepAlives.get(member);
    if (k === undefined) {
      k = this.client(member)
        .leaseClient.leaseKeepAlive()
        .then((stream) => new KeepAliveStream(stream));
      this.keepAlives.set(member, k);
    }
    return k;
  }

  async write(member: string, key: string, deadlineMs: number): Promise<bigint> {
    const r = await this.client(member).kv.put(
      { key: Buffer.from(key), value: Buffer.from('w') },
      { deadline: new Date(Date.now() + deadlineMs) },
    );
    return BigInt(r.header.raft_term);
  }

  async kill(member: string): Promise<void> {
    if (this.cluster === undefined) throw new Error('etcd cluster is not started');
    this.leaderName = undefined;
    await this.cluster.kill(member);
  }

  async restart(member: string, timeoutMs: number): Promise<void> {
    if (this.cluster === undefined) throw new Error('etcd cluster is not started');
    // A fresh client: the old one's channel sits in reconnect backoff after the kill.
    this.clients.get(member)?.close();
    this.clients.set(member, etcdClient(this.cluster.member(member).clientUrl, this.tls));
    this.cluster.start(member);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await this.leader(Math.max(1, deadline - Date.now()));
      const [l, s] = await Promise.all([
        this.memberStatus(leader).catch(() => undefined),
        this.memberStatus(member).catch(() => undefined),
      ]);
      if (l !== undefined && s !== undefined && s.applied >= l.commit) {
        this.leaderName = leader;
        return;
      }
      await sleep(STATUS_POLL_MS);
    }
    throw new Error(`etcd ${member} did not catch up within ${timeoutMs} ms`);
  }

  async transferLeadership(from: string, to: string): Promise<void> {
    this.leaderName = undefined;
    await this.client(from).maintenance.moveLeader(
      { targetID: this.idOf(to) },
      { deadline: new Date(Date.now() + ETCD_CALL_MS_MAX) },
    );
  }

  /** clientUrl is the client URL of `member` (for clients of the bench's worker threads). */
  clientUrl(member: string): string {
    if (this.cluster === undefined) throw new Error('etcd cluster is not started');
    return this.cluster.member(member).clientUrl;
  }

  watchSpec(member: string): WatchWorkerSpec {
    return {
      target: 'etcd',
      endpoint: this.clientUrl(member),
      ...(this.pki === undefined ? {} : { tls: this.pki.client }),
    };
  }

  holderSpec(scope: string): HolderSpec {
    if (this.cluster === undefined) throw new Error('etcd cluster is not started');
    return {
      target: 'etcd',
      endpoints: this.cluster.members.map((m) => m.clientUrl),
      scope,
      ttlMs: ETCD_SESSION_TTL_MS,
      ...(this.pki === undefined ? {} : { tls: this.pki.client }),
    };
  }

  campaign(scope: string): Campaign {
    const leader = this.leaderName ?? this.members[0]!;
    const campaign = this.client(leader)
      .election(scope, leaseTtlSeconds(ETCD_SESSION_TTL_MS))
      .campaign('second');
    const elected = withDeadline(
      campaign.wait().then(() => undefined),
      30_000,
      `etcd campaign for ${scope}`,
    );
    elected.catch(() => undefined);
    return {
      elected,
      close: () => campaign.resign().catch(() => undefined),
    };
  }
}
