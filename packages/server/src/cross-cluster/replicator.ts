import * as grpc from '@grpc/grpc-js';
import type { ClusterDescriptor, MirrorChange, MirrorCommand } from '@omnirelay/leadership-fsm';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isServerError } from '../errors/error-table';
import { ERROR_CODE_METADATA_KEY } from '../grpc/errors';
import { loadPublicApi } from '../grpc/proto';
import type { LeadershipService } from '../leadership/leadership-service';
import type { ReplicationView } from './clusters-answer';
import { resynchronise } from './resync';
import type { ReplicationChannel, ReplicationCredentialFiles } from './replication-credentials';
import { replicationChannel, replicationFix, tlsRefusal } from './replication-credentials';
import { revisionCut } from './revision-cut';
import type { WireEvent } from './wire-holder';
import { mirrorChangeOf } from './wire-holder';
import { callClustersOn } from './clusters-call';
import { INTERNAL_TRANSPORT, withTransport } from '../leadership/request-origin';
import type { LeadershipStateMachine } from '../leadership/leadership-state-machine';

/**
 * ReplicationStatus is what the replicator is doing, the bounded label set of
 * mesh_replication_status: `idle` (this node does not replicate: not the Raft leader, or the
 * cluster is active, or no active peer is known), `connecting`, `streaming` (the watch is open),
 * `disconnected` (the last attempt failed; it retries), `refused` (the last attempt failed on
 * credentials: a refused TLS handshake, certificate or token; it retries, re-reading the files),
 * `stopped` (the node is shutting down).
 */
export type ReplicationStatus = 'idle' | 'connecting' | 'streaming' | 'disconnected' | 'refused' | 'stopped';

/** REPLICATION_STATUSES lists every ReplicationStatus (the label values, all exported at start). */
export const REPLICATION_STATUSES: readonly ReplicationStatus[] = [
  'idle',
  'connecting',
  'streaming',
  'disconnected',
  'refused',
  'stopped',
];

/** ReplicatorOptions are the bounds and timings of one replicator. */
export interface ReplicatorOptions {
  /** retryMs is the pause after a failed attempt before the next endpoint is tried. */
  readonly retryMs: number;
  /** flushMs is how long events wait to be folded into one mirror entry (0: at the next tick). */
  readonly flushMs: number;
  /** pendingEventsMax bounds events received and not yet proposed; past it the watch is paused. */
  readonly pendingEventsMax: number;
  /**
   * headCheckMs is how often, while streaming, the replicator asks the active cluster for its last
   * holder change (gRPC Clusters, each call bounded by it): the lag counts events the active
   * committed and did not send yet, and reads 0 only while an answer of at most two periods ago
   * said the mirror had everything. Between HEAD_CHECK_MS_MIN and HEAD_CHECK_MS_MAX; the server
   * sets it from --replication-head-check-ms (ServerConfig.replicationHeadCheckMs).
   */
  readonly headCheckMs: number;
  /** credentials are what the replication channel presents (absent: plaintext, none). */
  readonly credentials?: ReplicationCredentialFiles;
}

/** HEAD_CHECK_MS_MIN and HEAD_CHECK_MS_MAX bound ReplicatorOptions.headCheckMs. */
export const HEAD_CHECK_MS_MIN = 10;
export const HEAD_CHECK_MS_MAX = 60_000;

/** REPLICATOR_DEFAULTS are the replicator's timings and bounds unless a test changes them. */
export const REPLICATOR_DEFAULTS: ReplicatorOptions = {
  retryMs: 500,
  flushMs: 5,
  pendingEventsMax: 65_536,
  headCheckMs: 1_000,
};

/** WireHead is the part of the active cluster's ClustersResponse the lag needs. */
interface WireHead {
  readonly lastEventRevision: string;
}

/** Pending is one received event waiting to be proposed, with when it arrived. */
interface Pending {
  readonly revision: number;
  readonly stampMs: number;
  readonly change: MirrorChange;
}

/**
 * Replicator runs on the Raft leader of a passive (or draining) cluster: it follows the active
 * peer's leadership events over the existing gRPC Watch, resumed from the mirror's replicated
 * version vector (so a new leader carries on where the old one stopped), and proposes them as
 * `mirror` commands through this cluster's own log. It re-evaluates after every applied entry and
 * leadership change; it never throws.
 */
export class Replicator {
  private statusNow: ReplicationStatus = 'idle';
  private running: { readonly peerId: string; readonly endpointsKey: string; cancel(): void } | undefined;
  private pending: Pending[] = [];
  private flushing = false;
  private flushTimer: NodeJS.Timeout | undefined;
  /**
   * lastContactMs is when the active peer last answered (Date.now()). seenUpToMs is the last
   * moment (ms since the epoch) up to which this node has received everything the active cluster
   * committed: the source stamp of the last event received, or when a head check that found
   * nothing missing was sent. Anything the mirror lacks was committed after it.
   */
  private lastContactMs = 0;
  private seenUpToMs = 0;
  /** receivedRevision is the highest source revision received on the current stream (0: none). */
  private receivedRevision = 0;
  /** head is the active's last holder change as its last answered head check said, and when it was asked. */
  private head: { readonly revision: number; readonly askedMs: number } | undefined;
  private stopped = false;
  /**
   * credentialRefusal is the last TLS probe's verdict after a failed attempt (see diagnose): while
   * set, failed attempts count as `refused`; the next answer of the active cluster clears it.
   */
  private credentialRefusal: string | undefined;

  constructor(
    private readonly service: LeadershipService,
    private readonly stateMachine: LeadershipStateMachine,
    private readonly isLeader: () => boolean,
    private readonly logger: Logger,
    private readonly options: ReplicatorOptions = REPLICATOR_DEFAULTS,
  ) {
    if (
      !Number.isInteger(options.headCheckMs) ||
      options.headCheckMs < HEAD_CHECK_MS_MIN ||
      options.headCheckMs > HEAD_CHECK_MS_MAX
    ) {
      throw new RangeError(
        `headCheckMs must be an integer in [${HEAD_CHECK_MS_MIN}, ${HEAD_CHECK_MS_MAX}] ms (got ${options.headCheckMs})`,
      );
    }
  }

  /** status is what the replicator is doing now. */
  get status(): ReplicationStatus {
    return this.statusNow;
  }

  /**
   * lagSeconds is how far the mirror is behind the active cluster: now − the commit stamp (at the
   * active) of the oldest revision of the active that the mirror has not applied, 0 when it has
   * them all. Events received and not applied yet give that stamp exactly (clock skew between the
   * clusters enters here). Otherwise the oldest missing revision was committed after the last
   * moment this node had everything (seenUpToMs: the stamp of the last event received, or a head
   * check that found nothing missing; on a node that never heard from the active, the mirror's
   * last applied source stamp), so the lag is now − that moment, unless a head check of at
   * most two periods ago found nothing missing (0). So it counts events in transit, grows while
   * disconnected, and reads 0 only when the mirror is known to be caught up. 0 when not replicating.
   */
  lagSeconds(nowMs: number = Date.now()): number {
    if (this.statusNow === 'idle' || this.statusNow === 'stopped') return 0;
    const oldest = this.pending[0];
    if (oldest !== undefined) return Math.max(0, nowMs - oldest.stampMs) / 1000;
    const peerId = this.running?.peerId;
    const applied = peerId === undefined ? 0 : (this.mirror().versionVector[peerId] ?? 0);
    const have = Math.max(applied, this.receivedRevision);
    if (
      this.statusNow === 'streaming' &&
      this.head !== undefined &&
      this.head.revision <= have &&
      nowMs - this.head.askedMs <= 2 * this.options.headCheckMs
    ) {
      return 0;
    }
    const since = this.seenUpToMs !== 0 ? this.seenUpToMs : this.mirror().sourceStampMs;
    return since === 0 ? 0 : Math.max(0, nowMs - since) / 1000;
  }

  /** mirror is the replicated mirror's version vector and last applied source stamp. */
  private mirror(): {
    readonly versionVector: Readonly<Record<string, number>>;
    readonly sourceStampMs: number;
  } {
    return this.stateMachine.fsm.cluster().mirror;
  }

  /** view is the status and lag, as GET /control/clusters shows them. */
  view(): ReplicationView {
    return { status: this.statusNow, lagSeconds: this.lagSeconds() };
  }

  /** reconsider starts, restarts or stops following, after an applied entry or a leadership change. */
  reconsider(): void {
    if (this.stopped) return;
    const target = this.target();
    const key = target === undefined ? undefined : target.endpoints.join(',');
    if (
      this.running !== undefined &&
      (target === undefined || this.running.peerId !== target.clusterId || this.running.endpointsKey !== key)
    ) {
      this.running.cancel();
      this.running = undefined;
      this.pending = [];
      this.receivedRevision = 0;
      this.head = undefined;
      this.statusNow = 'idle';
    }
    if (this.running === undefined && target !== undefined) this.follow(target);
  }

  /** stop ends replication for good (server shutdown). */
  stop(): void {
    this.stopped = true;
    this.running?.cancel();
    this.running = undefined;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.statusNow = 'stopped';
  }

  /** target is the active peer to follow, when this node should replicate at all. */
  private target(): ClusterDescriptor | undefined {
    if (!this.isLeader()) return undefined;
    const view = this.stateMachine.fsm.cluster();
    if (view.state === 'active' || view.following === '') return undefined;
    const peer = view.peers.find((p) => p.clusterId === view.following);
    return peer !== undefined && peer.endpoints.length > 0 ? peer : undefined;
  }

  private follow(peer: ClusterDescriptor): void {
    let cancelled = false;
    let call: grpc.ClientReadableStream<WireEvent> | undefined;
    let client: grpc.Client | undefined;
    /** headClient asks the active's head (Clusters) over the watch stream's own connection. */
    let headClient: grpc.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    let headTimer: NodeJS.Timeout | undefined;
    let attempt = 0;
    const close = (): void => {
      if (headTimer !== undefined) clearTimeout(headTimer);
      headTimer = undefined;
      call?.cancel();
      call = undefined;
      headClient?.close();
      headClient = undefined;
      client?.close();
      client = undefined;
    };
    const connect = (): void => {
      if (cancelled) return;
      const endpoint = peer.endpoints[attempt % peer.endpoints.length]!;
      attempt++;
      this.statusNow = 'connecting';
      const fromRevision = (this.stateMachine.fsm.cluster().mirror.versionVector[peer.clusterId] ?? 0) + 1;
      const api = loadPublicApi();
      let channel: ReplicationChannel;
      try {
        // Read at every attempt: rotated certificates and tokens are used from the next one on.
        channel = replicationChannel(this.options.credentials);
      } catch (e) {
        this.statusNow = 'refused';
        this.logger.warn(
          { peer: peer.clusterId, endpoint, err: e instanceof Error ? e.message : String(e) },
          'replication: the replication credentials cannot be read; fix the --replication-* files (retrying)',
        );
        retry = setTimeout(connect, this.options.retryMs);
        return;
      }
      client = new api.leadership.Client(endpoint, channel.credentials);
      headClient = new api.cluster.Client(endpoint, channel.credentials, {
        channelOverride: client.getChannel(),
      });
      const head = headClient;
      const watch = (
        client as unknown as Record<
          string,
          (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<WireEvent>
        >
      )['Watch']!;
      const stream: grpc.ClientReadableStream<{ revision: string; events: WireEvent[] }> = watch.call(
        client,
        {
          prefix: '',
          fromRevision: String(fromRevision),
        },
        channel.metadata,
      ) as never;
      call = stream as never;
      // A failed call emits 'error' and then 'end': only the first of them may schedule the next
      // attempt, or every failure would double the attempts in flight.
      let settled = false;
      const settle = (): boolean => {
        const first = !settled;
        settled = true;
        return first;
      };
      this.logger.info(
        { peer: peer.clusterId, endpoint, fromRevision },
        'replication: following the active cluster',
      );
      const checkHead = (): void => {
        headTimer = setTimeout(() => {
          const askedMs = Date.now();
          // Serializable: the node that serves the watch answers from its own replica, whatever
          // its Raft role (a linearizable read fails on a follower).
          // The watch stream's connection and credentials: no new channel, no re-read of the files.
          void callClustersOn<WireHead>(head, channel.metadata, this.options.headCheckMs, true).then(
            (answer) => {
              if (cancelled || settled) return;
              const revision = Number(answer.lastEventRevision);
              this.head = { revision, askedMs };
              this.lastContactMs = Date.now();
              const applied = this.mirror().versionVector[peer.clusterId] ?? 0;
              if (revision <= Math.max(applied, this.receivedRevision)) {
                this.seenUpToMs = Math.max(this.seenUpToMs, askedMs);
              }
              checkHead();
            },
            () => {
              // Unanswered: the last answer ages out, and the lag grows from seenUpToMs.
              if (!cancelled && !settled) checkHead();
            },
          );
        }, this.options.headCheckMs);
      };
      stream.on('metadata', () => {
        this.credentialRefusal = undefined;
        this.statusNow = 'streaming';
        this.lastContactMs = Date.now();
        this.receivedRevision = 0;
        this.head = undefined;
        checkHead();
      });
      stream.on('data', (response: { revision: string; events: WireEvent[] }) => {
        this.statusNow = 'streaming';
        this.lastContactMs = Date.now();
        // Revision r committed at stamp s arrived: everything the active committed up to s is
        // here (the stream is in revision order), so anything missing was committed after s.
        for (const e of response.events) this.seenUpToMs = Math.max(this.seenUpToMs, Number(e.stampMs));
        this.receivedRevision = Math.max(this.receivedRevision, Number(response.revision));
        this.receive(peer.clusterId, response.events);
      });
      stream.on('error', (e: grpc.ServiceError) => {
        if (cancelled || e.code === grpc.status.CANCELLED || !settle()) return;
        const code = e.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
        const fix = replicationFix(e.code, e.details ?? '');
        this.statusNow =
          fix === undefined && this.credentialRefusal === undefined ? 'disconnected' : 'refused';
        this.logger.warn(
          {
            peer: peer.clusterId,
            endpoint,
            code: code === undefined ? e.code : String(code),
            err: e.details,
            ...(fix === undefined ? {} : { fix }),
          },
          code === 'COMPACTED'
            ? 'replication: the active cluster no longer has the revisions the mirror needs; rebuilding the mirror from a listing of its holders'
            : fix === undefined
              ? 'replication: the watch of the active cluster failed; retrying'
              : `replication: the active cluster refused the replication channel; ${fix} (retrying)`,
        );
        close();
        if (fix === undefined && e.code === grpc.status.UNAVAILABLE) this.diagnose(peer.clusterId, endpoint);
        if (code !== 'COMPACTED') {
          retry = setTimeout(connect, this.options.retryMs);
          return;
        }
        this.pending = [];
        void resynchronise(endpoint, peer.clusterId, this.logger, this.options.credentials)
          .then(async (commands) => {
            await this.proposeAll(commands);
            // Rebuilt: watch again at once, from the listing's revision.
            return 0;
          })
          .catch((err: unknown) => {
            this.logger.warn(
              { peer: peer.clusterId, endpoint, err: err instanceof Error ? err.message : String(err) },
              'replication: rebuilding the mirror failed; retrying',
            );
            return this.options.retryMs;
          })
          .then((delayMs) => {
            if (!cancelled) retry = setTimeout(connect, delayMs);
          });
      });
      stream.on('end', () => {
        if (cancelled || !settle()) return;
        this.statusNow = 'disconnected';
        close();
        retry = setTimeout(connect, this.options.retryMs);
      });
    };
    this.running = {
      peerId: peer.clusterId,
      endpointsKey: peer.endpoints.join(','),
      cancel: () => {
        cancelled = true;
        if (retry !== undefined) clearTimeout(retry);
        close();
      },
    };
    connect();
  }

  /**
   * diagnose looks, after an UNAVAILABLE watch, whether `endpoint` refuses the replication
   * channel's TLS (grpc-js reports a refused handshake as a bare "Failed to connect"): when it
   * does, the status turns `refused` and a warn log names the TLS error and what to fix.
   */
  private diagnose(peerId: string, endpoint: string): void {
    const credentials = this.options.credentials;
    if (credentials?.caFile === undefined && credentials?.certFile === undefined) return;
    void tlsRefusal(endpoint, credentials).then((reason) => {
      if (this.statusNow === 'streaming' || this.statusNow === 'idle' || this.statusNow === 'stopped') return;
      this.credentialRefusal = reason;
      if (reason === undefined) return;
      this.statusNow = 'refused';
      const fix = replicationFix(grpc.status.UNAVAILABLE, `TLS: ${reason}`)!;
      this.logger.warn(
        { peer: peerId, endpoint, err: reason, fix },
        `replication: the active cluster refused the replication channel; ${fix} (retrying)`,
      );
    });
  }

  /** proposeAll proposes mirror commands in order; it throws at the first failure. */
  private async proposeAll(commands: readonly MirrorCommand[]): Promise<void> {
    for (const command of commands) {
      if (!this.isLeader()) return;
      await withTransport(INTERNAL_TRANSPORT, () => this.service.propose(command));
    }
  }

  /** receive queues one revision's events and arranges a flush. */
  private receive(peerId: string, events: readonly WireEvent[]): void {
    for (const e of events) {
      const revision = Number(e.revision);
      this.pending.push({
        revision,
        stampMs: Number(e.stampMs),
        change: mirrorChangeOf(e),
      });
    }
    if (this.pending.length > this.options.pendingEventsMax) {
      // Too far behind: drop the stream and resume from the replicated vector once caught up.
      this.logger.warn(
        { pending: this.pending.length },
        'replication: too many events pending; reconnecting',
      );
      this.running?.cancel();
      this.running = undefined;
      this.pending = [];
      this.statusNow = 'disconnected';
      return;
    }
    this.scheduleFlush(peerId, this.options.flushMs);
  }

  private scheduleFlush(peerId: string, delayMs: number): void {
    if (this.flushTimer !== undefined || this.stopped) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush(peerId);
    }, delayMs);
  }

  /**
   * flush proposes the pending events as mirror entries cut by revisionCut (all of a revision's
   * events go in one entry, so the vector never claims half a revision). A refusal as out of order means another leader already applied it.
   */
  private async flush(peerId: string): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0 && this.isLeader()) {
        const end = revisionCut(this.pending, 0);
        const batch = this.pending.slice(0, end);
        const toRevision = batch[batch.length - 1]!.revision;
        try {
          await withTransport(INTERNAL_TRANSPORT, () =>
            this.service.propose({
              type: 'mirror',
              correlationId: `mirror-${randomUUID()}`,
              sourceClusterId: peerId,
              toRevision,
              sourceStampMs: Math.max(...batch.map((p) => p.stampMs)),
              changes: batch.map((p) => p.change),
            }),
          );
        } catch (e) {
          if (!isServerError(e, 'MIRROR_OUT_OF_ORDER')) {
            this.logger.warn(
              { err: e instanceof Error ? e.message : String(e) },
              'replication: a mirror entry failed',
            );
            // Left pending: tried again after a pause (a new leader resumes from the vector instead).
            this.scheduleFlush(peerId, this.options.retryMs);
            return;
          }
        }
        this.pending.splice(0, end);
      }
    } finally {
      this.flushing = false;
    }
  }
}
