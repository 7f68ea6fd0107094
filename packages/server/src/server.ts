import type { ApplyResult } from '@omnirelay/leadership-fsm';
import { HandshakeRefusals, RaftNode } from '@omnirelay/raft';
import type { Logger } from 'pino';
import { AccessControl } from './auth/access-control';
import { clientAddressesOf } from './cluster/cluster-ops';
import { TokensFile } from './auth/tokens-file';
import type { ServerConfig } from './config/server-config';
import { authEnabled } from './config/server-config';
import type { ClientGrpcServer } from './grpc/grpc-server';
import { startGrpcServer } from './grpc/grpc-server';
import { DiskSpaceMonitor } from './disk/disk-space-monitor';
import type { ClientHttpServer } from './http/http-server';
import { transferLeadership } from './cluster/cluster-ops';
import { startHttpServer } from './http/http-server';
import type { MetricsServer } from './http/metrics-server';
import { startMetricsServer } from './http/metrics-server';
import { registerReplicationMetrics } from './cross-cluster/replication-metrics';
import { PEER_WATCH_DEFAULTS, PeerWatch } from './cross-cluster/peer-watch';
import { REPLICATOR_DEFAULTS, Replicator } from './cross-cluster/replicator';
import { ExpiryScheduler } from './leadership/expiry-scheduler';
import { LeadershipService } from './leadership/leadership-service';
import { LeadershipStateMachine, eventsOf } from './leadership/leadership-state-machine';
import { WatchHub } from './leadership/watch-hub';
import { watchClocks } from './metrics/clock-watch';
import { registerAdmissionMetrics } from './metrics/admission-metrics';
import { registerDiskMetrics } from './metrics/disk-metrics';
import { StreamLimiter } from './limits/stream-limiter';
import { createServerMetrics } from './metrics/server-metrics';
import { TRACING_SERVICE_NAME, startTracing } from './tracing/tracing';
import { clientPortTls } from './tls/client-port-tls';
import type { Tracing } from './tracing/tracing';

/**
 * OmniRelayServer is one running node: the Raft node replicating the leadership state machine,
 * the service the public edges call, the leader-only expiry scheduler, and the client edges.
 */
export interface OmniRelayServer {
  readonly config: ServerConfig;
  readonly node: RaftNode<ApplyResult>;
  readonly stateMachine: LeadershipStateMachine;
  readonly hub: WatchHub;
  readonly service: LeadershipService;
  readonly http: ClientHttpServer;
  /** disk watches the free space of the data folder (/status `disk`, omnirelay_disk_* metrics). */
  readonly disk: DiskSpaceMonitor;
  /** grpcAddress is the bound `host:port` of the public gRPC API. */
  readonly grpcAddress: string;
  /** metricsAddress is the bound `host:port` of the health and metrics listener, when configured. */
  readonly metricsAddress?: string;
  /** stop shuts the edges, then the node (its current batch finishes), then tracing (flushing its spans), in that order. */
  stop(): Promise<void>;
  /**
   * handOff moves Raft leadership to the most caught-up other voter before a planned stop, so the
   * cluster keeps a leader without waiting for an election (bounded by `timeoutMs`). It does
   * nothing on a follower or a lone voter, and never throws: a failed hand-off is logged and the
   * stop goes on (the others then elect as after a crash).
   */
  handOff(timeoutMs?: number): Promise<void>;
}

/** SHUTDOWN_TRANSFER_TIMEOUT_MS bounds the leadership hand-off of a planned stop (SIGTERM). */
export const SHUTDOWN_TRANSFER_TIMEOUT_MS = 3000;

/**
 * startServer assembles and starts a node. Listeners are registered before the Raft node starts,
 * so the watch hub and the schedulers see every entry from the first (replayed) one on.
 */
export async function startServer(
  config: ServerConfig,
  logger: Logger,
  version: string,
): Promise<OmniRelayServer> {
  // The tokens file is read before anything else starts: a bad one stops the node with its reason.
  const tokens =
    config.authTokensFile === undefined
      ? undefined
      : new TokensFile(
          config.authTokensFile,
          (count) => logger.info({ file: config.authTokensFile, tokens: count }, 'tokens file reloaded'),
          (reason) =>
            logger.error(
              { file: config.authTokensFile },
              `tokens file not reloaded, the tokens read last stay in force: ${reason}`,
            ),
        );
  // Tracing starts first, so every write from the first one on can be traced; it is a no-op
  // unless otlpEndpoint is set.
  const tracing: Tracing = await startTracing({
    serviceName: TRACING_SERVICE_NAME,
    nodeId: config.id,
    ...(config.otlpEndpoint === undefined ? {} : { otlpEndpoint: config.otlpEndpoint }),
  });
  const stateMachine = new LeadershipStateMachine(config.clockDriftPpmMax);
  const hub = new WatchHub(config.watchHistoryEventsMax);
  stateMachine.onRestored((index) => hub.resetAt(index));
  stateMachine.onApplied((result, entry) => {
    const events = eventsOf(result);
    hub.publish(entry.index, events);
    for (const e of events) {
      logger.info(
        {
          scope: e.scope,
          reason: e.reason,
          from: e.previousHolder?.candidateId ?? null,
          to: e.holder?.candidateId ?? null,
          session: e.holder?.sessionId ?? null,
          fence: e.holder?.fenceToken.toString() ?? null,
          previousFence: e.previousHolder?.fenceToken.toString() ?? null,
          revision: e.revision,
          correlationId: e.correlationId,
          raftTerm: e.raftTerm,
          proposer: e.proposerId,
          principal: e.principal,
          transport: entry.transport,
        },
        'holder changed',
      );
    }
  });
  let node: RaftNode<ApplyResult>;
  try {
    node = await RaftNode.start(config, stateMachine, logger);
  } catch (e) {
    tokens?.close();
    await tracing.shutdown();
    throw e;
  }
  // The store exists now, so its folder can be measured; the first check runs before any edge opens.
  const disk = new DiskSpaceMonitor({
    dataDir: config.dataDir,
    freeBytesMin: config.diskFreeBytesMin,
    checkIntervalMs: config.diskCheckIntervalMs,
    logger,
  });
  await disk.start();
  // Peers' client addresses are configured alongside their peer addresses (--peer-clients and
  // --peer-grpc); those of members added at run time come from the replicated membership.
  const configuredClients = { http: config.peerClients, grpc: config.peerGrpc };
  const metrics = createServerMetrics({ node, stateMachine, hub, nodeId: config.id });
  const stopClockWatch = watchClocks(node, config.skewMsMax, logger);
  registerDiskMetrics(metrics.registry, () => disk.status());
  // Read at scrape time, once `service` exists; the counter is handed to the service below.
  const admissionRefused = registerAdmissionMetrics(metrics.registry, () => service.admission.status());
  const service = new LeadershipService(
    node,
    stateMachine,
    hub,
    (id) => clientAddressesOf(node, configuredClients, id),
    (kind) => metrics.fenceRejected(kind),
    tracing.tracer,
    logger,
    (command, refusal) => metrics.leaseBatchRefused(command, refusal),
    (result, seconds) => metrics.proposalFinished(result, seconds),
    { renewalLagMsMax: config.admissionRenewalLagMs, onRefused: admissionRefused },
  );
  const expiry = new ExpiryScheduler(
    service,
    stateMachine,
    {
      graceMs: 2 * config.electionTimeoutMs + config.skewMsMax,
      graceCapMs: config.electionTimeoutMs,
      stallThresholdMs: config.stallThresholdMs,
    },
    logger,
  );
  stateMachine.onApplied(() => expiry.onApplied());
  // The passive cluster's replicator: it follows the active peer while this node leads.
  const replicator = new Replicator(service, stateMachine, () => node.isLeader, logger, {
    ...REPLICATOR_DEFAULTS,
    headCheckMs: config.replicationHeadCheckMs,
    ...(config.replicationCredentials === undefined ? {} : { credentials: config.replicationCredentials }),
  });
  registerReplicationMetrics(metrics.registry, replicator);
  // Every cluster's leader asks its peers for their own descriptors: an old active learns of its demotion.
  const peerWatch = new PeerWatch(service, stateMachine, () => node.isLeader, logger, {
    ...PEER_WATCH_DEFAULTS,
    ...(config.replicationCredentials === undefined ? {} : { credentials: config.replicationCredentials }),
  });
  peerWatch.start();
  stateMachine.onApplied((result, entry) => {
    if (result.ok && result.outcome.type === 'failoverStep') {
      logger.info({ ...result.outcome.record }, 'failover step recorded');
      return;
    }
    if (!result.ok || result.outcome.type !== 'setCluster') return;
    const d = result.outcome.descriptor;
    logger.info(
      {
        clusterId: d.clusterId,
        local: result.outcome.descriptor === stateMachine.fsm.cluster().local,
        state: d.state,
        failoverEpoch: d.failoverEpoch,
        endpoints: d.endpoints,
        reason: d.reason,
        principal: d.changedBy,
        correlationId: result.correlationId,
        revision: entry.index,
        waitersDropped: result.outcome.waitersDropped,
        leasesEnded: result.outcome.leasesEnded,
      },
      'cluster descriptor changed',
    );
    replicator.reconsider();
  });
  stateMachine.onRestored(() => replicator.reconsider());
  node.on('role', (role) => {
    replicator.reconsider();
    expiry.onLeadership(role === 'leader');
    // A leader change drops the release-on-reset timers: the new leader falls back to TTL expiry.
    service.resetReleaser.setLeader(role === 'leader');
  });
  if (node.isLeader) expiry.onLeadership(true);
  service.resetReleaser.setLeader(node.isLeader);

  // One limiter for both edges: a watcher is a watcher, over gRPC or SSE.
  const streamLimiter = new StreamLimiter(
    {
      grpcStreamsPerConnectionMax: config.grpcStreamsPerConnectionMax,
      grpcStreamsMax: config.grpcStreamsMax,
      watchersPerConnectionMax: config.watchersPerConnectionMax,
      watchersMax: config.watchersMax,
    },
    (limit) => metrics.limitRefused(limit),
  );

  const tls = clientPortTls(config);
  const access = new AccessControl({
    enabled: authEnabled(config),
    clusterId: config.clusterId,
    ...(tokens === undefined ? {} : { tokens }),
    ...(config.clientTls?.caFile === undefined ? {} : { caFile: config.clientTls.caFile }),
    logger,
    onDenied: (action, reason) => metrics.accessDenied(action, reason),
  });
  const handshakes = new HandshakeRefusals(logger, (port) => metrics.handshakeRefused(port));
  logger.info(
    {
      enabled: access.enabled,
      clientCertificates: config.clientTls?.caFile === undefined ? 'none' : 'required',
      tokens: tokens?.size ?? null,
    },
    access.enabled ? 'access control on: default deny' : 'access control off: every caller may do everything',
  );
  // stopCore stops what runs beside the edges; `stop` runs it before closing them.
  const stopCore = (): void => {
    tokens?.close();
    stopClockWatch();
    disk.stop();
    expiry.stop();
    replicator.stop();
    peerWatch.stop();
    // Before the edges close: streams cancelled by the shutdown are not client resets.
    service.resetReleaser.stop();
    hub.closeAll();
  };
  let edges: Edges;
  try {
    edges = await startEdges(
      () =>
        startHttpServer({
          address: config.clientAddress,
          node,
          service,
          stateMachine,
          hub,
          bodyBytesMax: config.httpBodyBytesMax,
          version,
          logger,
          metrics,
          disk: () => disk.status(),
          onForwarded: () => metrics.forwarded('http'),
          onRequestFinished: (status) => metrics.requestFinished('http', String(status)),
          streamLimiter,
          access,
          handshakes,
          replication: () => replicator.view(),
          auth: () => ({ enabled: access.enabled, tokens: tokens?.size ?? null }),
          peers: {
            clientAddresses: (id) => clientAddressesOf(node, configuredClients, id),
            grpcAddress: config.grpcAddress,
            skewMsMax: config.skewMsMax,
          },
          ...tls,
        }),
      () =>
        startGrpcServer({
          address: config.grpcAddress,
          service,
          node,
          logger,
          leaderGrpcAddress: (id) => clientAddressesOf(node, configuredClients, id).grpc,
          onForwarded: () => metrics.forwarded('grpc'),
          onCallFinished: (code) => metrics.requestFinished('grpc', code),
          streamLimiter,
          keepalive: { timeMs: config.grpcKeepaliveTimeMs, timeoutMs: config.grpcKeepaliveTimeoutMs },
          replication: () => replicator.view(),
          access,
          handshakes,
          ...tls,
        }),
      config.metricsAddress === undefined
        ? undefined
        : () => startMetricsServer({ address: config.metricsAddress!, node, metrics, logger }),
    );
  } catch (e) {
    stopCore();
    await node.stop();
    await tracing.shutdown();
    throw e;
  }
  return {
    config,
    node,
    stateMachine,
    hub,
    service,
    http: edges.http,
    disk,
    grpcAddress: edges.grpc.address,
    ...(edges.metrics === undefined ? {} : { metricsAddress: edges.metrics.address }),
    handOff: async (timeoutMs = SHUTDOWN_TRANSFER_TIMEOUT_MS) => {
      const s = node.status();
      if (s.role !== 'leader' || s.membership.voters.length < 2) return;
      const started = performance.now();
      logger.info('stopping as the Raft leader: handing leadership to the most caught-up voter first');
      try {
        const moved = await transferLeadership(node, '', timeoutMs, () => service.notLeader());
        logger.info(
          { leader: moved.leader, term: moved.term, ms: Math.round(performance.now() - started) },
          `handed Raft leadership to ${moved.leader} before stopping`,
        );
      } catch (e) {
        logger.warn(
          { err: e instanceof Error ? e.message : String(e) },
          'could not hand Raft leadership over before stopping; the others will elect a leader',
        );
      }
    },
    stop: async () => {
      stopCore();
      await edges.close();
      await node.stop();
      metrics.stop();
      // Last, so spans of writes that finished while stopping are exported too.
      await tracing.shutdown();
    },
  };
}

/** Edges are the listeners of a node: the client HTTP and gRPC ports, and the optional metrics port. */
interface Edges {
  readonly http: ClientHttpServer;
  readonly grpc: ClientGrpcServer;
  readonly metrics?: MetricsServer;
  /** close closes them, the metrics port first and the HTTP port last. */
  close(): Promise<void>;
}

/** startEdges starts the listeners in order; when one cannot start, those already open are closed first. */
async function startEdges(
  http: () => Promise<ClientHttpServer>,
  grpc: () => Promise<ClientGrpcServer>,
  metrics: (() => Promise<MetricsServer>) | undefined,
): Promise<Edges> {
  const opened: Array<{ close(): Promise<void> }> = [];
  const closeAll = async (): Promise<void> => {
    for (const edge of opened.reverse()) await edge.close();
  };
  try {
    const h = await http();
    opened.push(h);
    const g = await grpc();
    opened.push(g);
    const m = metrics === undefined ? undefined : await metrics();
    if (m !== undefined) opened.push(m);
    return { http: h, grpc: g, ...(m === undefined ? {} : { metrics: m }), close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
