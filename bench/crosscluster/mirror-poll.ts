/**
 * MirrorPoll reads, from the passive cluster's Raft leader (the node that runs the replicator),
 * GET /control/clusters every `pollMs` — the mirror's version vector entry for the active cluster
 * and the lag the node reports there — and GET /metrics every `scrapeMs` for
 * mesh_replication_lag_seconds. One poll in flight at a time, so a slow answer spaces the polls
 * out instead of piling them up.
 */
import type { LocalCluster } from '@omnirelay/server';
import { sharedNowMs, sleep } from '../compare/time';

/** POLL_CALL_MS_MAX bounds each poll's HTTP call. */
const POLL_CALL_MS_MAX = 2000;
/** LAG_METRIC matches the gauge's sample line in the Prometheus text. */
const LAG_METRIC = /^mesh_replication_lag_seconds (\S+)$/m;

/** VectorPoll is one answer of /control/clusters: when it was asked and answered, and what it said. */
export interface VectorPoll {
  readonly sentAtMs: number;
  readonly receivedAtMs: number;
  /** revision is versionVector[source]: every change of the source up to it is in the mirror. */
  readonly revision: number;
  readonly lagSeconds: number;
  readonly status: string;
}

interface ClustersBody {
  readonly replication: {
    readonly status: string;
    readonly lagSeconds: number;
    readonly versionVector: Readonly<Record<string, number>>;
  };
}

/** MirrorPoll polls one passive node until stopped; see the file comment. */
export class MirrorPoll {
  /** polls are the answers in order (revisions never go down while one replicator runs). */
  readonly polls: VectorPoll[] = [];
  /** scrapes are mesh_replication_lag_seconds as /metrics reported it, in seconds. */
  readonly scrapes: number[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly cluster: LocalCluster,
    private readonly node: string,
    private readonly source: string,
    pollMs: number,
    scrapeMs: number,
  ) {
    this.loops = [this.every(pollMs, () => this.poll()), this.every(scrapeMs, () => this.scrape())];
  }

  private async every(ms: number, work: () => Promise<void>): Promise<void> {
    while (!this.stopped) {
      const from = performance.now();
      await work().catch(() => undefined);
      await sleep(Math.max(0, ms - (performance.now() - from)));
    }
  }

  private async poll(): Promise<void> {
    const sentAtMs = sharedNowMs();
    const reply = await this.cluster.get(this.node, '/control/clusters', POLL_CALL_MS_MAX);
    const receivedAtMs = sharedNowMs();
    const body = reply.body as ClustersBody;
    this.polls.push({
      sentAtMs,
      receivedAtMs,
      revision: body.replication.versionVector[this.source] ?? 0,
      lagSeconds: body.replication.lagSeconds,
      status: body.replication.status,
    });
  }

  private async scrape(): Promise<void> {
    const res = await fetch(`http://${this.cluster.node(this.node).clientAddress}/metrics`, {
      signal: AbortSignal.timeout(POLL_CALL_MS_MAX),
    });
    const m = LAG_METRIC.exec(await res.text());
    if (m !== null) this.scrapes.push(Number(m[1]));
  }

  /** stop ends both loops and waits for the calls in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /**
   * seenAt is the first poll whose version vector reached `revision` (the mirror had it no later
   * than that poll's answer and after the previous poll was sent), or undefined.
   */
  seenAt(revision: number): { readonly poll: VectorPoll; readonly previousSentAtMs: number } | undefined {
    let lo = 0;
    let hi = this.polls.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.polls[mid]!.revision >= revision) hi = mid;
      else lo = mid + 1;
    }
    const poll = this.polls[lo];
    if (poll === undefined) return undefined;
    return { poll, previousSentAtMs: this.polls[lo - 1]?.sentAtMs ?? poll.sentAtMs };
  }
}
