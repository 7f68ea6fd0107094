import type { NodeId, RaftNode, RaftNodeStatus, TransportStats } from '@omnirelay/raft';
import {
  LEARNERS_MAX,
  MESSAGE_REFUSAL_REASONS,
  RECENT_STALLS_MAX,
  RECENT_STALL_MS,
  VOTERS_MAX,
} from '@omnirelay/raft';
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { StatusSampler } from './status-sampler';

/** FSYNC_BUCKETS_SECONDS are the bucket bounds of omnirelay_raft_fsync_duration_seconds: 0.25 ms (page cache) to 2.5 s (a stalled disk). */
export const FSYNC_BUCKETS_SECONDS: readonly number[] = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** RAFT_ELECTION_BUCKETS_SECONDS are the bucket bounds of omnirelay_raft_election_duration_seconds: 10 ms to 60 s. */
export const RAFT_ELECTION_BUCKETS_SECONDS: readonly number[] = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** MS_PER_SECOND converts the node's millisecond timings to the seconds Prometheus metrics are in. */
const MS_PER_SECOND = 1000;

/**
 * PEER_LABEL_VALUES_MAX bounds the values of the `peer` label: a cluster has at most VOTERS_MAX
 * voters and LEARNERS_MAX learners (15), so a peer series per member stays bounded. Should the
 * transport ever list more, only the first PEER_LABEL_VALUES_MAX ids (sorted) get a series.
 */
export const PEER_LABEL_VALUES_MAX = VOTERS_MAX + LEARNERS_MAX;

/** RaftMetrics is the Raft side of the server's metrics. */
export interface RaftMetrics {
  /** stop removes the node listeners. */
  stop(): void;
}

/** TRANSPORT_COUNTERS maps each cumulative transport counter to its metric. */
const TRANSPORT_COUNTERS: ReadonlyArray<{
  readonly field: keyof TransportStats;
  readonly name: string;
  readonly help: string;
}> = [
  {
    field: 'messagesSent',
    name: 'omnirelay_raft_messages_sent_total',
    help: 'Raft messages this node handed to its peer streams (count).',
  },
  {
    field: 'messagesReceived',
    name: 'omnirelay_raft_messages_received_total',
    help: 'Raft messages this node received from peers (count).',
  },
  {
    field: 'messagesDropped',
    name: 'omnirelay_raft_messages_dropped_total',
    help: 'Raft messages dropped because a peer queue was full or its stream was down (count; Raft retries).',
  },
  {
    field: 'messagesMalformed',
    name: 'omnirelay_raft_messages_malformed_total',
    help: 'Raft messages received that could not be decoded (count).',
  },
  {
    field: 'refusedUnknownPeer',
    name: 'omnirelay_raft_messages_refused_unknown_peer_total',
    help: 'Raft messages refused because the sender is not a configured peer (count).',
  },
  {
    field: 'refusedClusterMismatch',
    name: 'omnirelay_raft_messages_refused_cluster_mismatch_total',
    help: 'Raft messages refused because they carried another cluster id (count).',
  },
  {
    field: 'refusedUnauthenticated',
    name: 'omnirelay_raft_peer_calls_refused_unauthenticated_total',
    help:
      'Peer calls (streams, snapshots, probes) refused because, with peer TLS on, the caller presented no ' +
      'certificate naming the member it claimed to be: none, a client certificate, or another member’s (count; ' +
      'each peer and reason is also logged once at warn).',
  },
  {
    field: 'handshakesRefused',
    name: 'omnirelay_raft_peer_handshakes_refused_total',
    help:
      'TLS handshakes the peer port refused before any call: no certificate, one from another CA or out ' +
      'of its validity, plaintext (count; each remote address and reason is also logged at warn once a minute).',
  },
  {
    field: 'snapshotsSent',
    name: 'omnirelay_raft_snapshots_sent_total',
    help: 'Raft snapshots this node sent to lagging peers (count).',
  },
  {
    field: 'snapshotsReceived',
    name: 'omnirelay_raft_snapshots_received_total',
    help: 'Raft snapshots this node received from a leader (count).',
  },
  {
    field: 'snapshotsFailed',
    name: 'omnirelay_raft_snapshots_failed_total',
    help: 'Raft snapshot transfers that failed (count).',
  },
  {
    field: 'snapshotsRefusedLimit',
    name: 'omnirelay_raft_snapshots_refused_limit_total',
    help:
      'Inbound Raft snapshot transfers refused because snapshotStreamsMax or snapshotBufferBytesMax ' +
      'was reached (count; the leader retries).',
  },
];

/**
 * registerRaftMetrics registers the omnirelay_raft_* metrics in `registry`. Indexes, term,
 * leadership, peers and transport counters are read from one `node.status()` per scrape (a
 * collect() callback through `sampler`); leader changes and fsync timings come from the node's
 * `leader` and `persisted` events. `nodeId` is this node, left out of the peer series.
 */
export function registerRaftMetrics(
  registry: Registry,
  node: RaftNode<unknown>,
  sampler: StatusSampler,
  nodeId: NodeId,
): RaftMetrics {
  const statusGauge = (name: string, help: string, read: (s: RaftNodeStatus) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const status = sampler.sample();
        if (status !== undefined) this.set(read(status));
      },
    });
  };
  statusGauge('omnirelay_raft_term', 'Current Raft term of this node (term number).', (s) => s.term);
  statusGauge(
    'omnirelay_raft_commit_index',
    'Highest Raft log index this node knows to be committed (log index).',
    (s) => s.commit,
  );
  statusGauge(
    'omnirelay_raft_applied_index',
    'Highest Raft log index applied to the leadership state machine on this node (log index).',
    (s) => s.applied,
  );
  statusGauge(
    'omnirelay_raft_last_index',
    'Index of the last entry in this node’s Raft log, committed or not (log index).',
    (s) => s.lastIndex,
  );
  statusGauge(
    'omnirelay_raft_snapshot_index',
    'Raft log index covered by this node’s latest snapshot (log index; 0 before the first).',
    (s) => s.snapshotIndex,
  );
  statusGauge(
    'omnirelay_raft_log_bytes',
    'Size of the Raft log this node holds, the tail kept before the snapshot included (bytes; bounded near 1.5 × --snapshot-log-bytes).',
    (s) => s.logBytes,
  );
  statusGauge('omnirelay_raft_is_leader', 'Whether this node is the Raft leader (1) or not (0).', (s) =>
    s.role === 'leader' ? 1 : 0,
  );
  statusGauge(
    'omnirelay_raft_proposals_pending',
    'Proposals made on this node that are waiting to be applied (count).',
    (s) => s.proposalsPending,
  );
  statusGauge(
    'omnirelay_event_loop_stall_max_seconds',
    'Longest this node’s event loop held up its Raft timers since start (seconds; above the election timeout, followers may have started an election).',
    (s) => s.eventLoopStall.longestMs / MS_PER_SECOND,
  );
  new Counter({
    name: 'omnirelay_event_loop_stalls_total',
    help: `Times this node’s event loop held up its Raft timers by ${RECENT_STALL_MS} ms or more (count; /status eventLoopStall.recent lists the latest ${RECENT_STALLS_MAX} with their length and time).`,
    registers: [registry],
    collect() {
      const status = sampler.sample();
      if (status === undefined) return;
      this.reset();
      this.inc(status.eventLoopStall.count);
    },
  });
  new Counter({
    name: 'omnirelay_event_loop_cpu_wait_seconds_total',
    help: 'Time this node’s event-loop thread was ready to run but waited for a CPU: a busy host or a CPU limit’s throttling, not the node’s own work (seconds; Linux scheduler statistics, 0 where the system does not say; /status eventLoopStall.recent gives each stall’s share).',
    registers: [registry],
    collect() {
      const waitedMs = sampler.sample()?.eventLoopStall.cpuWaitMs;
      if (waitedMs === undefined || waitedMs === null) return;
      this.reset();
      this.inc(waitedMs / MS_PER_SECOND);
    },
  });
  statusGauge(
    'omnirelay_raft_election_stretch_seconds',
    'How much longer than its election timeout this follower waits for its leader, because that leader was lately silent for a while and then went on (seconds; 0 when none is remembered; bounded by --election-stretch-ms-max).',
    (s) => s.electionStretchMs / MS_PER_SECOND,
  );
  statusGauge(
    'omnirelay_raft_snapshot_slice_max_seconds',
    'Longest single slice of the last snapshot encoding on this node (seconds; 0 before the first snapshot).',
    (s) => (s.lastCompaction?.sliceMsMax ?? 0) / MS_PER_SECOND,
  );
  statusGauge(
    'omnirelay_raft_fatal',
    'Whether the Raft node stopped on a fatal error and the process must restart (1) or not (0).',
    (s) => (s.fatalError === undefined ? 0 : 1),
  );

  for (const counter of TRANSPORT_COUNTERS) {
    // The transport keeps cumulative totals; each scrape copies them into a counter.
    new Counter({
      name: counter.name,
      help: counter.help,
      registers: [registry],
      collect() {
        const status = sampler.sample();
        if (status === undefined) return;
        this.reset();
        this.inc(status.transport[counter.field]);
      },
    });
  }

  // One series per MessageRefusalReason (five values), whatever the peers send.
  new Counter<'reason'>({
    name: 'omnirelay_raft_messages_refused_total',
    help:
      'Raft messages from known peers that Raft refused on sight, by reason: termUnusable (a term ' +
      'near the largest representable one), termJump (a term absurdly far above ours), ' +
      'indexUnusable, malformed or misaddressed (count; each peer is also logged once at warn).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      const status = sampler.sample();
      if (status === undefined) return;
      this.reset();
      for (const reason of MESSAGE_REFUSAL_REASONS) this.inc({ reason }, status.messagesRefused[reason]);
    },
  });

  // Peer series: the `peer` label takes member ids only, at most PEER_LABEL_VALUES_MAX (15)
  // values, so these series are bounded by the cluster size. Each scrape resets them, so a
  // removed member's series disappears.
  new Gauge<'peer'>({
    name: 'omnirelay_raft_peer_lag_entries',
    help:
      'On the leader, how many log entries a peer is behind: this node’s last index minus the ' +
      'peer’s match index (entries). 0 on followers, which do not track peers.',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      const status = sampler.sample();
      if (status === undefined) return;
      this.reset();
      const leading = status.role === 'leader';
      for (const peer of peerIds(status, nodeId)) {
        const match = status.progress[peer]?.match;
        const lag = leading && match !== undefined ? Math.max(0, status.lastIndex - match) : 0;
        this.set({ peer }, lag);
      }
    },
  });
  new Gauge<'peer'>({
    name: 'omnirelay_raft_peer_connected',
    help: 'Whether this node’s outbound stream to a peer is connected (1) or not (0).',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      const status = sampler.sample();
      if (status === undefined) return;
      this.reset();
      for (const peer of peerIds(status, nodeId)) {
        this.set({ peer }, status.peers[peer]?.connected === true ? 1 : 0);
      }
    },
  });
  new Gauge<'peer'>({
    name: 'omnirelay_raft_peer_queued_messages',
    help: 'Raft messages queued on this node’s outbound stream to a peer (count).',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      const status = sampler.sample();
      if (status === undefined) return;
      this.reset();
      for (const peer of peerIds(status, nodeId)) this.set({ peer }, status.peers[peer]?.queued ?? 0);
    },
  });
  new Gauge<'peer'>({
    name: 'omnirelay_peer_clock_offset_seconds',
    help:
      'How far this node’s wall clock is ahead of a peer’s (negative: behind), estimated from the ' +
      'send times the peer stamps on its batches: the smallest receive − send of the last 32, so ' +
      'it includes the smallest one-way delay (seconds). Above --skew-ms-max the node logs a warning; ' +
      'lease time does not depend on it.',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      const status = sampler.sample();
      if (status === undefined) return;
      this.reset();
      for (const peer of peerIds(status, nodeId)) {
        const offset = status.peers[peer]?.clockOffsetMs;
        if (offset !== null && offset !== undefined) this.set({ peer }, offset / MS_PER_SECOND);
      }
    },
  });

  const leaderChanges = new Counter({
    name: 'omnirelay_raft_leader_changes_total',
    help: 'Times this node learned of a new Raft leader, i.e. `leader` events naming a node (count).',
    registers: [registry],
  });
  const electionDuration = new Histogram({
    name: 'omnirelay_raft_election_duration_seconds',
    help:
      'Time this node spent without a known Raft leader after losing one, in seconds of this ' +
      'node’s monotonic clock: from the `leader` event that cleared the leader to the next ' +
      'one naming a leader. The wait before the first leader after start is not observed.',
    buckets: [...RAFT_ELECTION_BUCKETS_SECONDS],
    registers: [registry],
  });
  const fsyncDuration = new Histogram({
    name: 'omnirelay_raft_fsync_duration_seconds',
    help:
      'Duration of one durable write of a Raft ready batch (entries, hard state or snapshot) to ' +
      'the log store, in seconds.',
    buckets: [...FSYNC_BUCKETS_SECONDS],
    registers: [registry],
  });
  const entriesPersisted = new Counter({
    name: 'omnirelay_raft_entries_persisted_total',
    help: 'Raft log entries this node wrote durably to its log store (count).',
    registers: [registry],
  });

  let knownLeader = node.leaderId;
  let leaderLostAtMs: number | undefined;
  const onLeader = (leader: NodeId): void => {
    const nowMs = performance.now();
    if (leader === '') {
      if (knownLeader !== '' && leaderLostAtMs === undefined) leaderLostAtMs = nowMs;
    } else {
      leaderChanges.inc();
      if (leaderLostAtMs !== undefined) electionDuration.observe((nowMs - leaderLostAtMs) / MS_PER_SECOND);
      leaderLostAtMs = undefined;
    }
    knownLeader = leader;
  };
  const onPersisted = (entries: number, durationMs: number): void => {
    fsyncDuration.observe(durationMs / MS_PER_SECOND);
    if (entries > 0) entriesPersisted.inc(entries);
  };
  node.on('leader', onLeader);
  node.on('persisted', onPersisted);
  return {
    stop: () => {
      node.off('leader', onLeader);
      node.off('persisted', onPersisted);
    },
  };
}

/** peerIds lists the other members this node knows (its transport peers and, on the leader, its progress rows), sorted and bounded. */
function peerIds(status: RaftNodeStatus, nodeId: NodeId): NodeId[] {
  const ids = new Set<NodeId>([...Object.keys(status.peers), ...Object.keys(status.progress)]);
  ids.delete(nodeId);
  return [...ids].sort().slice(0, PEER_LABEL_VALUES_MAX);
}
