import type { NodeId } from '../core/index';
import type { InitialClusterState } from '../storage/index';
import { INITIAL_CLUSTER_STATES } from '../storage/index';
import type { TransportSettings } from '../transport/index';
import { TRANSPORT_DEFAULTS, validateTransportSettings } from '../transport/index';

/** RaftNodeTimings are the runtime's clocks: tick length and how many ticks make each timeout. */
export interface RaftNodeTimings {
  /** tickMs is the length of one Raft tick. */
  readonly tickMs: number;
  /** heartbeatMs is the leader's heartbeat interval (a multiple of tickMs). */
  readonly heartbeatMs: number;
  /** electionTimeoutMs is the base election timeout (randomized up to twice that). */
  readonly electionTimeoutMs: number;
  /**
   * electionStretchMsMax bounds how much longer a follower waits for a leader that was lately
   * silent for a while and then went on (slow, not dead: CPU starvation, a GC pause) before it
   * campaigns, and how much longer it refuses other candidates' pre-votes (0: never; absent:
   * 3 × electionTimeoutMs). A leader whose connections reset is still replaced at once.
   */
  readonly electionStretchMsMax?: number;
  /** unreachableCampaignDelayMsMax bounds the random delay before campaigning after the leader's connection failed. */
  readonly unreachableCampaignDelayMsMax: number;
  /**
   * fastFailover: when the connection to the leader fails (its process died), campaign at once
   * instead of waiting out the election timeout. Off only to measure what it is worth.
   */
  readonly fastFailover: boolean;
  /**
   * hopLedger records the monotonic time of each step of writes and transfers in this process's
   * hop ledger (debug instrumentation for `npm run bench -- hops`; off by default, free when off).
   */
  readonly hopLedger?: boolean;
}

/** RaftNodeLimits bound what a node holds in memory. */
export interface RaftNodeLimits {
  /** proposalsPendingMax bounds proposals awaiting commit; beyond it propose() fails with BACKPRESSURE. */
  readonly proposalsPendingMax: number;
  /** proposalTimeoutMs is the default deadline of a proposal. */
  readonly proposalTimeoutMs: number;
  /** readsPendingMax bounds linearizable reads awaiting confirmation. */
  readonly readsPendingMax: number;
  /** snapshotEntries: after this many applied entries past the last snapshot, take a snapshot and compact the log. */
  readonly snapshotEntries: number;
  /**
   * snapshotTailEntries: how many entries up to the snapshot index compaction keeps in the log,
   * so a follower at most that far behind gets entries instead of a whole snapshot.
   */
  readonly snapshotTailEntries: number;
  /**
   * snapshotLogBytes: after this many bytes of entries (entrySizeBytes) were applied past the last
   * snapshot, take one even before `snapshotEntries`; the tail kept is at most half of it. So the
   * log a node holds in memory and on disk stays under about 1.5 × snapshotLogBytes however large
   * its entries (a renewal batch of thousands of leases is one entry).
   */
  readonly snapshotLogBytes: number;
  /** entryBytesMax bounds one proposed command. */
  readonly entryBytesMax: number;
}

/** RAFT_NODE_DEFAULTS: heartbeat 50 ms, election timeout 500 ms, 10 ms ticks. */
export const RAFT_NODE_DEFAULTS: RaftNodeTimings & RaftNodeLimits & Omit<TransportSettings, 'clusterId'> = {
  tickMs: 10,
  heartbeatMs: 50,
  electionTimeoutMs: 500,
  unreachableCampaignDelayMsMax: 20,
  fastFailover: true,
  hopLedger: false,
  proposalsPendingMax: 50_000,
  proposalTimeoutMs: 5_000,
  readsPendingMax: 10_000,
  snapshotEntries: 10_000,
  snapshotTailEntries: 5_000,
  snapshotLogBytes: 64 * 1024 * 1024,
  entryBytesMax: 1024 * 1024,
  ...TRANSPORT_DEFAULTS,
};

/** RaftNodeConfig is everything a node needs to start. */
export interface RaftNodeConfig extends RaftNodeTimings, RaftNodeLimits, TransportSettings {
  /** id is this node's id. */
  readonly id: NodeId;
  /** dataDir holds the LevelDB store. */
  readonly dataDir: string;
  /** peerAddress is `host:port` where this node listens for peers (port 0: pick one). */
  readonly peerAddress: string;
  /** peers maps every other member's id to its peer address. */
  readonly peers: Readonly<Record<NodeId, string>>;
  /**
   * bootstrapVoters is the first configuration of a brand-new cluster (ignored once the store
   * exists); empty to join an existing cluster, which then adds this node as a learner.
   */
  readonly bootstrapVoters: readonly NodeId[];
  /**
   * initialClusterState says what to do when `dataDir` holds no store: `new` bootstraps a new
   * cluster from bootstrapVoters; `existing` creates an empty store that waits to be added (and
   * votes only once the cluster bound it: a member whose data folder was lost comes back this
   * way, never as the voter it was). Ignored once the store exists.
   */
  readonly initialClusterState: InitialClusterState;
}

/** RaftNodeConfigError names the bad setting and the allowed values. */
export class RaftNodeConfigError extends Error {
  override readonly name = 'RaftNodeConfigError';
}

/** validateRaftNodeConfig refuses a bad value at start, naming the setting. */
export function validateRaftNodeConfig(c: RaftNodeConfig): void {
  const fail = (message: string): never => {
    throw new RaftNodeConfigError(message);
  };
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      fail(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  };
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/.test(c.id)) {
    fail(`id ${JSON.stringify(c.id)} must be 1-63 characters of letters, digits, '.', '_' or '-'`);
  }
  if (c.dataDir.length === 0) fail('dataDir must be a folder path');
  int('tickMs', c.tickMs, 1, 1000);
  int('heartbeatMs', c.heartbeatMs, c.tickMs, 60_000);
  int('electionTimeoutMs', c.electionTimeoutMs, 2 * c.heartbeatMs, 600_000);
  int('unreachableCampaignDelayMsMax', c.unreachableCampaignDelayMsMax, c.tickMs, c.electionTimeoutMs);
  if (c.electionStretchMsMax !== undefined) {
    int('electionStretchMsMax', c.electionStretchMsMax, 0, 10 * c.electionTimeoutMs);
  }
  if (c.heartbeatMs % c.tickMs !== 0 || c.electionTimeoutMs % c.tickMs !== 0) {
    fail(
      `heartbeatMs (${c.heartbeatMs}) and electionTimeoutMs (${c.electionTimeoutMs}) must be multiples of tickMs (${c.tickMs})`,
    );
  }
  int('proposalsPendingMax', c.proposalsPendingMax, 1, 10_000_000);
  int('proposalTimeoutMs', c.proposalTimeoutMs, 1, 3_600_000);
  int('readsPendingMax', c.readsPendingMax, 1, 10_000_000);
  int('snapshotEntries', c.snapshotEntries, 1, 100_000_000);
  int('snapshotTailEntries', c.snapshotTailEntries, 0, 100_000_000);
  int('entryBytesMax', c.entryBytesMax, 1, c.batchBytesMax);
  // At least two of the largest entries, so one entry alone never triggers a snapshot per apply.
  int('snapshotLogBytes', c.snapshotLogBytes, 2 * c.entryBytesMax, 64 * 1024 * 1024 * 1024);
  // The transport's bounds (snapshot sizes and transfers among them) are refused here too, at start.
  try {
    validateTransportSettings(c);
  } catch (e) {
    fail((e instanceof Error ? e.message : String(e)).replace(/^transport config: /, ''));
  }
  for (const [peer, address] of Object.entries(c.peers)) {
    if (peer === c.id) fail(`peers must not list this node itself (${peer})`);
    if (!/^[^:\s]+:\d{1,5}$/.test(address))
      fail(`peer ${peer} address ${JSON.stringify(address)} must be host:port`);
  }
  if (!/^[^:\s]+:\d{1,5}$/.test(c.peerAddress))
    fail(`peerAddress ${JSON.stringify(c.peerAddress)} must be host:port`);
  // No bootstrap voters means join mode: the node learns the configuration from the leader once
  // it is added as a learner (it never campaigns before that).
  if (c.bootstrapVoters.length > 7) {
    fail(
      `bootstrapVoters must list at most 7 voters (none to join an existing cluster), got ${c.bootstrapVoters.length}`,
    );
  }
  for (const v of c.bootstrapVoters) {
    if (v !== c.id && c.peers[v] === undefined) fail(`bootstrap voter ${v} has no address in peers`);
  }
  if (!INITIAL_CLUSTER_STATES.includes(c.initialClusterState)) {
    fail(
      `initialClusterState must be ${INITIAL_CLUSTER_STATES.join(' or ')}, got ${JSON.stringify(c.initialClusterState)}`,
    );
  }
}
