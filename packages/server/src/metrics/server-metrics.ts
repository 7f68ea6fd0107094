import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { DenialReason } from '../auth/access-control';
import type { TlsPort } from '@omnirelay/raft';
import { assert } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { status as grpcStatus } from '@grpc/grpc-js';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProposalResult } from '../leadership/leadership-service';
import type { LeadershipStateMachine } from '../leadership/leadership-state-machine';
import type { LeaseBatchCommand, LeaseBatchRefusal } from '../leadership/lease-batches';
import type { WatchHub } from '../leadership/watch-hub';
import type { StreamLimitName } from '../limits/stream-limiter';
import { STREAM_LIMIT_NAMES } from '../limits/stream-limiter';
import type { FenceCheckKind } from './leadership-metrics';
import { registerLeadershipMetrics } from './leadership-metrics';
import { registerRaftMetrics } from './raft-metrics';
import { registerStateGauges } from './state-gauges';
import { StatusSampler } from './status-sampler';

/** ServerMetricsOptions are the parts of a running node the metrics read and listen to. */
export interface ServerMetricsOptions {
  readonly node: RaftNode<ApplyResult>;
  readonly stateMachine: LeadershipStateMachine;
  readonly hub: WatchHub;
  /** nodeId is this node's Raft id (it must equal `node.id`); it is left out of the peer series. */
  readonly nodeId: string;
}

/** ForwardEdge is the `edge` label of omnirelay_forwarded_requests_total: a fixed set of two. */
export type ForwardEdge = 'grpc' | 'http';

/** FORWARD_EDGES lists every `edge` label value. */
const FORWARD_EDGES: readonly ForwardEdge[] = ['grpc', 'http'];

/**
 * REQUEST_CODES are the `code` label values of omnirelay_requests_total per edge: the 17 gRPC
 * status names, and the HTTP statuses 100-599. They bound the label whatever a caller passes.
 */
const REQUEST_CODES: Readonly<Record<ForwardEdge, ReadonlySet<string>>> = {
  grpc: new Set(Object.values(grpcStatus).filter((value): value is string => typeof value === 'string')),
  http: new Set(Array.from({ length: 500 }, (_, i) => String(100 + i))),
};

/**
 * PROPOSAL_RESULTS_AT_START are the omnirelay_raft_proposals_total series created at 0, so rates and
 * failure ratios exist before the first failure; other error codes appear when they first occur
 * (the label is a fixed union of error codes either way).
 */
const PROPOSAL_RESULTS_AT_START: readonly ProposalResult[] = [
  'committed',
  'BACKPRESSURE',
  'NO_QUORUM',
  'DEADLINE_EXCEEDED',
  'PROPOSAL_DROPPED',
];

/** PROPOSAL_BUCKETS_SECONDS are the bucket bounds of omnirelay_raft_proposal_duration_seconds: 0.5 ms to 10 s. */
export const PROPOSAL_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** LEASE_BATCH_COMMANDS and LEASE_BATCH_REFUSALS list the label values of omnirelay_lease_batch_refusals_total. */
const LEASE_BATCH_COMMANDS: readonly LeaseBatchCommand[] = ['renew', 'expire'];
const LEASE_BATCH_REFUSALS: readonly LeaseBatchRefusal[] = ['split', 'isolated'];

/**
 * DEFAULT_GAUGES_NAMED_AS_COUNTERS are the prom-client default metrics left out of a node's
 * registry: gauges with a `_total` suffix, whose sums the per-type gauges already carry.
 */
export const DEFAULT_GAUGES_NAMED_AS_COUNTERS: readonly string[] = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** ServerMetrics is one node's Prometheus metrics. */
export interface ServerMetrics {
  /** registry holds every metric of this node; it is its own, never prom-client's global one. */
  readonly registry: Registry;
  /** contentType is the Content-Type of `render()`'s text (Prometheus text exposition 0.0.4). */
  readonly contentType: string;
  /** render collects every metric (one `node.status()` read) and returns the text exposition. */
  render(): Promise<string>;
  /**
   * fenceRejected counts a stale fence presented to a `kind` request in
   * mesh_leadership_split_brain_total: a client that believed it held a scope it no longer held.
   */
  fenceRejected(kind: FenceCheckKind): void;
  /** forwarded counts a request this follower forwarded to the leader, by edge, in omnirelay_forwarded_requests_total. */
  forwarded(edge: ForwardEdge): void;
  /**
   * leaseBatchRefused counts, in omnirelay_lease_batch_refusals_total, a renew or expire batch
   * refused for its content and split, or a lease isolated because it could not be proposed alone.
   */
  leaseBatchRefused(command: LeaseBatchCommand, refusal: LeaseBatchRefusal): void;
  /** limitRefused counts a stream or watcher refused by `limit`, in omnirelay_limit_refusals_total. */
  limitRefused(limit: StreamLimitName): void;
  /** accessDenied counts a call access control refused, in omnirelay_access_denied_total. */
  accessDenied(action: string, reason: DenialReason): void;
  /** handshakeRefused counts a TLS handshake a client port refused, in omnirelay_tls_handshakes_refused_total. */
  handshakeRefused(port: TlsPort): void;
  /**
   * requestFinished counts one answered request in omnirelay_requests_total: `code` is the gRPC
   * status name on the grpc edge and the HTTP status on the http edge. A code outside those sets
   * (REQUEST_CODES) is counted as `other`, so the label stays bounded whatever it is given.
   */
  requestFinished(edge: ForwardEdge, code: string): void;
  /**
   * proposalFinished counts one attempt to replicate a write, by result, in
   * omnirelay_raft_proposals_total, and times a committed one (`seconds` from the hand-off to Raft
   * until it was applied here) in omnirelay_raft_proposal_duration_seconds.
   */
  proposalFinished(result: ProposalResult, seconds: number): void;
  /**
   * stop removes the node listeners, makes the state machine listeners inert (it cannot remove
   * them) and freezes the scrape-time gauges at their last values; `render()` keeps working.
   * prom-client's default metrics keep their process-wide event-loop-delay monitor and GC
   * observer, which it offers no way to stop; neither keeps the process alive.
   */
  stop(): void;
}

/**
 * createServerMetrics builds a node's metrics in a registry of its own and subscribes to the
 * node's events and the state machine's applied entries. Create it before traffic starts to
 * count every holder change; one created later counts from then on (gauges are always current).
 *
 * Label cardinality is bounded by design: `reason` (5 values), `kind` (6), `edge` (2), `command`
 * (2), `refusal` (2), `limit` (4) and `peer` (at most 15 members); no metric has a scope or candidate label.
 */
export function createServerMetrics(options: ServerMetricsOptions): ServerMetrics {
  const { node, stateMachine, hub, nodeId } = options;
  assert(node.id === nodeId, () => `metrics nodeId(${nodeId}) is not the node's id(${node.id})`);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names these three gauges `_total`, which Prometheus reserves for counters
  // (`promtool check metrics` flags them); the same counts stay, split by type, in
  // nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
  for (const name of DEFAULT_GAUGES_NAMED_AS_COUNTERS) registry.removeSingleMetric(name);

  let active = true;
  const sampler = new StatusSampler(node);
  const raft = registerRaftMetrics(registry, node, sampler, nodeId);
  const leadership = registerLeadershipMetrics(registry, stateMachine);
  registerStateGauges(registry, stateMachine, hub, () => active);
  const forwarded = new Counter<'edge'>({
    name: 'omnirelay_forwarded_requests_total',
    help:
      'Requests this node took as a follower and forwarded to the Raft leader, or took as a leader ' +
      "handing leadership over and forwarded to the transfer's target (count, when sent, " +
      'whatever the answer), by the edge they came in on: grpc (unary calls and whole ' +
      'Campaign/KeepAlive streams) or http.',
    labelNames: ['edge'],
    registers: [registry],
  });
  for (const edge of FORWARD_EDGES) forwarded.inc({ edge }, 0);
  const leaseBatchRefusals = new Counter<'command' | 'refusal'>({
    name: 'omnirelay_lease_batch_refusals_total',
    help:
      'Renew and expire batches this leader proposed that were refused for their content (too ' +
      'large, a bad field): refusal="split" counts a batch proposed again in two halves, ' +
      'refusal="isolated" a lease left out because it could not be proposed even alone (see the ' +
      'error log line naming it). Any isolated lease deserves a look.',
    labelNames: ['command', 'refusal'],
    registers: [registry],
  });
  for (const command of LEASE_BATCH_COMMANDS) {
    for (const refusal of LEASE_BATCH_REFUSALS) leaseBatchRefusals.inc({ command, refusal }, 0);
  }

  const accessDenials = new Counter<'action' | 'reason'>({
    name: 'omnirelay_access_denied_total',
    help:
      'Client calls access control refused, by action (gRPC method or HTTP route) and reason: ' +
      'unauthenticated (no, malformed, unknown or revoked credentials) or permission_denied (the ' +
      'caller lacks the role or scope prefix). Each refusal is also one warn log line naming the identity.',
    labelNames: ['action', 'reason'],
    registers: [registry],
  });
  const handshakeRefusals = new Counter<'port'>({
    name: 'omnirelay_tls_handshakes_refused_total',
    help:
      'TLS handshakes a client port refused (no client certificate, one from another CA or out of ' +
      'its validity, TLS below 1.2, plaintext on a TLS port), by port: grpc or http. Each remote ' +
      'address and reason is also logged at warn once a minute.',
    labelNames: ['port'],
    registers: [registry],
  });
  for (const port of ['grpc', 'http'] as const) handshakeRefusals.inc({ port }, 0);
  const limitRefusals = new Counter<'limit'>({
    name: 'omnirelay_limit_refusals_total',
    help:
      'Streaming gRPC calls (Campaign, KeepAlive, Watch) and SSE watchers this node refused with ' +
      'LIMIT_REACHED, by the limit that refused them: grpcStreamsPerConnectionMax, grpcStreamsMax, ' +
      'watchersPerConnectionMax or watchersMax.',
    labelNames: ['limit'],
    registers: [registry],
  });
  for (const limit of STREAM_LIMIT_NAMES) limitRefusals.inc({ limit }, 0);
  const requests = new Counter<'edge' | 'code'>({
    name: 'omnirelay_requests_total',
    help:
      'Client requests this node answered (count), by edge and the status it answered with: the ' +
      'gRPC status name (OK, INVALID_ARGUMENT, UNAVAILABLE, ...) on grpc, the HTTP status (200, ' +
      '404, 503, ...) on http, `other` for anything else. Server-side failures are UNKNOWN, ' +
      'INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED and DATA_LOSS on grpc and 5xx on http.',
    labelNames: ['edge', 'code'],
    registers: [registry],
  });
  requests.inc({ edge: 'grpc', code: 'OK' }, 0);
  requests.inc({ edge: 'http', code: '200' }, 0);
  const proposals = new Counter<'result'>({
    name: 'omnirelay_raft_proposals_total',
    help:
      'Writes this node proposed to Raft (count; each attempt once), by result: committed (applied ' +
      'here), or the error code the attempt failed with: NOT_LEADER (forwarded instead), ' +
      "TRANSFER_IN_PROGRESS (handed to the transfer's target, or retried after the transfer), and " +
      'failures a client sees such as ' +
      'BACKPRESSURE, NO_QUORUM, DEADLINE_EXCEEDED or PROPOSAL_DROPPED.',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of PROPOSAL_RESULTS_AT_START) proposals.inc({ result }, 0);
  const proposalDuration = new Histogram({
    name: 'omnirelay_raft_proposal_duration_seconds',
    help:
      'Commit latency of the writes this node led: from handing a write to Raft until it was ' +
      'committed by a quorum and applied here (seconds; committed proposals only).',
    buckets: [...PROPOSAL_BUCKETS_SECONDS],
    registers: [registry],
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    fenceRejected: (kind) => leadership.fenceRejected(kind),
    forwarded: (edge) => {
      if (active) forwarded.inc({ edge });
    },
    leaseBatchRefused: (command, refusal) => {
      if (active) leaseBatchRefusals.inc({ command, refusal });
    },
    limitRefused: (limit) => {
      if (active) limitRefusals.inc({ limit });
    },
    accessDenied: (action, reason) => {
      if (active) accessDenials.inc({ action, reason });
    },
    handshakeRefused: (port) => {
      if (active) handshakeRefusals.inc({ port });
    },
    proposalFinished: (result, seconds) => {
      if (!active) return;
      proposals.inc({ result });
      if (result === 'committed') proposalDuration.observe(seconds);
    },
    requestFinished: (edge, code) => {
      if (active) requests.inc({ edge, code: REQUEST_CODES[edge].has(code) ? code : 'other' });
    },
    stop: () => {
      if (!active) return;
      active = false;
      sampler.stop();
      raft.stop();
      leadership.stop();
    },
  };
}
