import type { ClustersView } from './clusters';
import { OmniRelayError, isOmniRelayError } from './errors';
import { backoffMs, checkEndpoints } from './router';

/** ClusterEndpoints names one cluster of an active/passive group and its nodes' gRPC addresses. */
export interface ClusterEndpoints {
  /** id is the cluster id of its descriptor (`mesh clusters set --id`). */
  readonly id: string;
  /** endpoints are `host:port` of some of the cluster's nodes (the SDK learns the rest). */
  readonly endpoints: readonly string[];
}

/**
 * ClusterEvent is what a multi-cluster client tells an operator about the cluster it follows:
 * - following: it now sends everything to `clusterId` (the first choice, or a failover from
 *   `previous`; `reason` says what triggered it);
 * - probe-failed: a cluster did not answer Clusters (`error`);
 * - no-active: a probe round found no active cluster it could switch to (it keeps the current one).
 */
export type ClusterEvent =
  | {
      readonly type: 'following';
      readonly clusterId: string;
      readonly previous: string | undefined;
      readonly failoverEpoch: number;
      readonly endpoints: readonly string[];
      readonly reason: string;
    }
  | { readonly type: 'probe-failed'; readonly clusterId: string; readonly error: OmniRelayError }
  | { readonly type: 'no-active'; readonly reason: string };

/** ClusterProbe asks one cluster (any of `endpoints`) for its cross-cluster state. */
export type ClusterProbe = (cluster: ClusterEndpoints) => Promise<ClustersView>;

/** ActiveChoice is the cluster a probe round chose and the failover epoch it is active at. */
export interface ActiveChoice {
  readonly clusterId: string;
  readonly failoverEpoch: number;
}

/** CLUSTERS_MAX bounds the clusters a client may follow (PEER_CLUSTERS_MAX on the server is lower). */
export const CLUSTERS_MAX = 16;

/**
 * chooseActive picks the active cluster from one probe round: among the answers that say they are
 * active, the one at the highest failover epoch; an answer whose cluster knows an active peer at a
 * higher epoch was superseded (docs/cross-cluster.md) and is never chosen. On a tie the current
 * cluster stays. undefined when no answer is active. Pure.
 */
export function chooseActive(
  answers: ReadonlyMap<string, ClustersView>,
  current: string | undefined,
): ActiveChoice | undefined {
  let best: ActiveChoice | undefined;
  for (const [clusterId, view] of answers) {
    if (view.state !== 'active') continue;
    const superseded = view.clusters.some(
      (d) => !d.local && d.state === 'active' && d.failoverEpoch > view.failoverEpoch,
    );
    if (superseded) continue;
    const better =
      best === undefined ||
      view.failoverEpoch > best.failoverEpoch ||
      (view.failoverEpoch === best.failoverEpoch && clusterId === current);
    if (better) best = { clusterId, failoverEpoch: view.failoverEpoch };
  }
  return best;
}

/** ClusterFollowerOptions configures a ClusterFollower. */
export interface ClusterFollowerOptions {
  readonly clusters: readonly ClusterEndpoints[];
  readonly probe: ClusterProbe;
  /**
   * switchTo moves the client to `cluster`, synchronously: it ends every lease of the cluster it
   * left (their signals abort) before it points the client at the new one.
   */
  readonly switchTo: (cluster: ClusterEndpoints) => void;
  /** checkIntervalMs is how often the followed cluster is asked whether it is still active. */
  readonly checkIntervalMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly onEvent?: (event: ClusterEvent) => void;
}

/**
 * ClusterFollower decides which cluster of an active/passive group a client talks to. A probe round
 * asks every cluster for its Clusters state in parallel and follows the active one at the highest
 * failover epoch (chooseActive). Rounds run at start, every checkIntervalMs in the background, and
 * at once when the client hits CLUSTER_PASSIVE or loses the followed cluster (reprobe); concurrent
 * requests share one round, and rounds that keep finding no active cluster back off (capped
 * exponential), so a client never floods a region that is down. It switches only to a cluster that
 * is active at an epoch at least the followed one's, or when the followed one says it is no longer
 * active: a cluster that is merely unreachable is kept until another one is promoted.
 */
export class ClusterFollower {
  private readonly byId = new Map<string, ClusterEndpoints>();
  private currentId: string | undefined;
  private currentEpoch = -1;
  private round: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private emptyRounds = 0;
  private notBeforeMs = 0;
  private generationNow = 0;
  private closed = false;
  private readonly first: Promise<void>;

  constructor(private readonly options: ClusterFollowerOptions) {
    checkClusters(options.clusters);
    for (const c of options.clusters) this.byId.set(c.id, c);
    this.first = this.reprobe('start').then(() => undefined);
    this.schedule();
  }

  /** activeClusterId is the cluster followed now (undefined until a probe found an active one). */
  get activeClusterId(): string | undefined {
    return this.currentId;
  }

  /** generation counts switches: a grant obtained under an older generation came from a cluster the client left. */
  get generation(): number {
    return this.generationNow;
  }

  /** ready resolves once the first probe round has finished (whether it found an active cluster or not). */
  ready(): Promise<void> {
    return this.first;
  }

  /**
   * reprobe runs a probe round now (or joins the one running) and resolves to whether the client
   * follows a different cluster afterwards. Rounds that find nothing new back off: a call during
   * the backoff resolves false at once.
   */
  reprobe(reason: string): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.round !== undefined) return this.round;
    if (Date.now() < this.notBeforeMs) return Promise.resolve(false);
    const round = this.runRound(reason).finally(() => {
      this.round = undefined;
    });
    this.round = round;
    return round;
  }

  /**
   * hint acts on a CLUSTER_PASSIVE refusal that named the active cluster: an id the client does not
   * know is added with the endpoints the refusal named (a cluster added after the client started),
   * then a probe round confirms it before anything switches.
   */
  hint(activeClusterId: string | undefined, activeEndpoints: readonly string[]): Promise<boolean> {
    if (
      activeClusterId !== undefined &&
      activeClusterId !== '' &&
      !this.byId.has(activeClusterId) &&
      this.byId.size < CLUSTERS_MAX &&
      endpointsValid(activeEndpoints)
    ) {
      this.byId.set(activeClusterId, { id: activeClusterId, endpoints: [...activeEndpoints] });
    }
    // A refusal is news: it may come during a backoff that began when nothing had changed yet.
    this.notBeforeMs = 0;
    return this.reprobe('CLUSTER_PASSIVE');
  }

  /** close stops the background checks. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.reprobe('periodic check')
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, this.options.checkIntervalMs);
    this.timer.unref();
  }

  private async runRound(reason: string): Promise<boolean> {
    const answers = new Map<string, ClustersView>();
    await Promise.all(
      [...this.byId.values()].map(async (cluster) => {
        try {
          answers.set(cluster.id, await this.options.probe(cluster));
        } catch (e) {
          const error = isOmniRelayError(e)
            ? e
            : new OmniRelayError('UNAVAILABLE', String(e), {}, { cause: e });
          this.emit({ type: 'probe-failed', clusterId: cluster.id, error });
        }
      }),
    );
    if (this.closed) return false;
    const choice = chooseActive(answers, this.currentId);
    const currentView = this.currentId === undefined ? undefined : answers.get(this.currentId);
    // The followed cluster said it no longer grants (demoted, draining, superseded).
    const currentGaveUp =
      currentView !== undefined && (currentView.state !== 'active' || choice?.clusterId !== this.currentId);
    const move =
      choice !== undefined &&
      choice.clusterId !== this.currentId &&
      (this.currentId === undefined || currentGaveUp || choice.failoverEpoch >= this.currentEpoch);
    if (choice !== undefined && choice.clusterId === this.currentId) this.currentEpoch = choice.failoverEpoch;
    if (!move) {
      if (choice === undefined || currentGaveUp) this.emit({ type: 'no-active', reason });
      this.emptyRounds = choice === undefined ? this.emptyRounds + 1 : 0;
      if (this.emptyRounds > 0) {
        this.notBeforeMs = Date.now() + backoffMs(this.emptyRounds, this.options);
      }
      return false;
    }
    this.emptyRounds = 0;
    const target = this.byId.get(choice.clusterId)!;
    const previous = this.currentId;
    this.generationNow++;
    this.currentId = choice.clusterId;
    this.currentEpoch = choice.failoverEpoch;
    this.options.switchTo(target);
    this.emit({
      type: 'following',
      clusterId: target.id,
      previous,
      failoverEpoch: choice.failoverEpoch,
      endpoints: target.endpoints,
      reason,
    });
    return true;
  }

  private emit(event: ClusterEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A logging hook's failure must not stop the failover.
    }
  }
}

/** checkClusters refuses an empty list, duplicate or empty ids, clusters without endpoints and too many clusters. */
export function checkClusters(clusters: readonly ClusterEndpoints[]): void {
  if (clusters.length === 0 || clusters.length > CLUSTERS_MAX) {
    throw new OmniRelayError(
      'INVALID_ARGUMENT',
      `clusters must list 1 to ${CLUSTERS_MAX} clusters (got ${clusters.length})`,
    );
  }
  const seen = new Set<string>();
  for (const c of clusters) {
    if (typeof c.id !== 'string' || c.id === '' || seen.has(c.id)) {
      throw new OmniRelayError(
        'INVALID_ARGUMENT',
        `clusters: every cluster needs a distinct, non-empty id (got ${JSON.stringify(c.id)})`,
      );
    }
    seen.add(c.id);
    if (!Array.isArray(c.endpoints) || c.endpoints.length === 0) {
      throw new OmniRelayError(
        'INVALID_ARGUMENT',
        `clusters: cluster ${JSON.stringify(c.id)} needs at least one endpoint (host:port of a node gRPC API)`,
      );
    }
    checkEndpoints(c.endpoints);
  }
}

function endpointsValid(endpoints: readonly string[]): boolean {
  try {
    checkEndpoints(endpoints);
    return true;
  } catch {
    return false;
  }
}
