/**
 * The etcd side of the scale bench: a fresh 3-member etcd cluster; `leases` leases granted
 * (TTL `ttlMs` in whole seconds), each attached to its own key as compare's acquire does
 * (LeaseGrant + Txn), and kept alive through etcd's own LeaseKeepAlive stream the way etcd's
 * clients do: every lease once per TTL / 3 (clientv3's keep-alive period), starting as soon as it is
 * granted. Over a sustained window of the same length as OmniRelay's, the members' CPU and RSS are
 * sampled, so the bench can report CPU per lease per second as a ratio.
 */
import { progress } from '../support/stats';
import { trackPids } from '../compare/children';
import { ensureEtcd } from '../compare/etcd-install';
import { EtcdTarget } from '../compare/etcd-target';
import { summarizeMs } from '../compare/summary';
import type { SampleSummary } from '../compare/summary';
import type { HeldScope } from '../compare/target';
import { sleep } from '../compare/time';
import { withAttempts } from './attempts';
import type { ScaleConfig } from './config';
import { ProcSampler, formatWindows } from './proc-stats';
import type { ProcWindow } from './proc-stats';

/** LEADER_MS_MAX bounds the wait for a leader. */
const LEADER_MS_MAX = 30_000;
/** FILL_MS_MAX bounds the grants of every lease. */
const FILL_MS_MAX = 600_000;
/** RENEW_TICK_MS is how often the keep-alive loop looks for due leases. */
const RENEW_TICK_MS = 5;

/** EtcdScaleResult is the etcd half of bench/results/scale.json. */
export interface EtcdScaleResult {
  readonly version: string;
  readonly fillMs: number;
  readonly held: number;
  readonly acquireFailed: number;
  readonly windowMs: number;
  readonly nodes: Readonly<Record<string, ProcWindow>>;
  readonly renewalMs: SampleSummary;
  readonly renewalsPerS: number;
  /** renewalsFailed counts keep-alives that failed or found the lease gone (over the whole run). */
  readonly renewalsFailed: number;
  /** renewLagMsMax is how late, at worst, a lease's keep-alive went out after it was due (in the window). */
  readonly renewLagMsMax: number;
}

interface Due {
  readonly lease: HeldScope;
  readonly dueAt: number;
}

/**
 * KeepAliveLoop renews every lease it is given once per `intervalMs`, with at most `inflightMax`
 * keep-alives in flight; leases come due in the order they were added (one interval for all).
 */
class KeepAliveLoop {
  private queue: Due[] = [];
  private head = 0;
  private inflight = 0;
  private stopped = false;
  private measuring = false;
  samples: number[] = [];
  renewed = 0;
  failed = 0;
  lagMsMax = 0;
  private readonly done: Promise<void>;

  constructor(
    private readonly intervalMs: number,
    private readonly inflightMax: number,
  ) {
    this.done = this.run();
  }

  add(lease: HeldScope): void {
    this.queue.push({ lease, dueAt: performance.now() + this.intervalMs });
  }

  measure(): void {
    this.measuring = true;
    this.samples = [];
    this.renewed = 0;
    this.lagMsMax = 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = performance.now();
      while (this.head < this.queue.length && this.inflight < this.inflightMax) {
        const next = this.queue[this.head]!;
        if (next.dueAt > now) break;
        this.head++;
        if (this.measuring) this.lagMsMax = Math.max(this.lagMsMax, now - next.dueAt);
        this.renew(next.lease);
      }
      if (this.head > 100_000) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      await sleep(RENEW_TICK_MS);
    }
  }

  private renew(lease: HeldScope): void {
    this.inflight++;
    const sentAt = performance.now();
    lease.renew().then(
      () => {
        this.inflight--;
        const at = performance.now();
        this.renewed++;
        if (this.measuring) this.samples.push(at - sentAt);
        this.queue.push({ lease, dueAt: sentAt + this.intervalMs });
      },
      () => {
        this.inflight--;
        this.failed++;
      },
    );
  }
}

/** runEtcdScale runs the etcd half; the cluster is stopped whatever happens. */
export async function runEtcdScale(config: ScaleConfig): Promise<EtcdScaleResult> {
  const etcd = await ensureEtcd();
  const target = new EtcdTarget(etcd.path, etcd.version);
  const untrack = trackPids(() => target.pids());
  // etcd's clients keep a lease alive every TTL / 3 (clientv3: ttl / 3).
  const loop = new KeepAliveLoop(Math.ceil(config.ttlMs / 1000) * (1000 / 3), config.etcdRenewInflightMax);
  try {
    progress(`etcd ${etcd.version}: starting a fresh 3-member cluster`);
    await target.start();
    await target.leader(LEADER_MS_MAX);
    progress(
      `etcd: granting ${config.leases} leases (TTL ${config.ttlMs} ms), each kept alive from its grant`,
    );
    const fillStarted = performance.now();
    let next = 0;
    let held = 0;
    let acquireFailed = 0;
    const one = async (): Promise<void> => {
      while (next < config.leases && performance.now() - fillStarted < FILL_MS_MAX) {
        const scope = `scale/e/${next++}`;
        const ok = await withAttempts(async () => loop.add(await target.acquire(scope, config.ttlMs)));
        if (ok) held++;
        else acquireFailed++;
      }
    };
    await Promise.all(Array.from({ length: config.etcdAcquireConcurrency }, () => one()));
    const fillMs = performance.now() - fillStarted;
    progress(`etcd: ${held} leases held in ${(fillMs / 1000).toFixed(1)} s (${acquireFailed} failed)`);

    const pids = target.pids();
    const sampler = new ProcSampler(pids);
    loop.measure();
    sampler.start();
    const windowStarted = performance.now();
    await sleep(config.durationMs);
    const windowMs = performance.now() - windowStarted;
    const windows = sampler.stop();
    const renewalMs = summarizeMs(loop.samples);
    const nodes: Record<string, ProcWindow> = {};
    windows.forEach((w, i) => (nodes[target.members[i] ?? String(w.pid)] = w));
    const result: EtcdScaleResult = {
      version: etcd.version,
      fillMs,
      held,
      acquireFailed,
      windowMs,
      nodes,
      renewalMs,
      renewalsPerS: loop.renewed / (windowMs / 1000),
      renewalsFailed: loop.failed,
      renewLagMsMax: loop.lagMsMax,
    };
    progress(
      `etcd: window ${(windowMs / 1000).toFixed(1)} s: renewals ${result.renewalsPerS.toFixed(0)}/s p50 ${renewalMs.p50.toFixed(1)} ms p99 ${renewalMs.p99.toFixed(1)} ms, ${loop.failed} failed, lag max ${loop.lagMsMax.toFixed(0)} ms; ` +
        formatWindows(nodes),
    );
    return result;
  } finally {
    await loop.stop();
    await target.stop();
    untrack();
  }
}
