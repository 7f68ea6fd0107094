import { INCARNATION_CHARS_MAX, isIncarnation } from './membership';
import type { Rng } from './rng';
import type { RaftStorage } from './storage';
import type { NodeId } from './types';

/**
 * RaftConfig configures one RaftCore. Times are in ticks: the runtime decides how long a tick
 * is (the node runtime's default is 10 ms, so heartbeatTicks 5 = 50 ms, electionTicks 50 = 500 ms).
 */
export interface RaftConfig {
  /** id is this node's id; it must appear in the membership to vote or campaign. */
  readonly id: NodeId;
  /**
   * incarnation is the id of this node's store, created with it (see Membership.incarnations):
   * stamped on every message; a configuration that binds this node to another incarnation means
   * this store is not the one the cluster counted on, and the node neither campaigns nor votes.
   * Absent (tests, tools): messages carry none, and this node can never be bound.
   */
  readonly incarnation?: string;
  /**
   * requireBinding: this node votes and campaigns only once a configuration binds it to its own
   * incarnation. The runtime sets it for a store that was created empty to join a cluster (not by
   * bootstrapping a new one): such a store has acknowledged nothing yet, and a member id it
   * reuses may still be counted on by the cluster with another store's data.
   */
  readonly requireBinding?: boolean;
  /** storage is the durable state as the runtime mirrors it. */
  readonly storage: RaftStorage;
  /** rng is the seeded source of election jitter and campaign delays. */
  readonly rng: Rng;
  /** electionTicks is the base election timeout; the randomized timeout is in [electionTicks, 2·electionTicks). */
  readonly electionTicks: number;
  /** heartbeatTicks is the leader's heartbeat interval; it must be below electionTicks. */
  readonly heartbeatTicks: number;
  /**
   * electionStretchTicksMax bounds how much a follower lengthens its election timeout (and its
   * leader stickiness) after its leader was silent for a while and then went on (ElectionStretch);
   * 0 turns the stretch off. Absent: 3 · electionTicks.
   */
  readonly electionStretchTicksMax?: number;
  /** unreachableCampaignDelayTicksMax bounds the random delay before campaigning after `leaderUnreachable`. */
  readonly unreachableCampaignDelayTicksMax: number;
  /** inflightMessagesMax bounds the append messages in flight to one follower in replicate state. */
  readonly inflightMessagesMax: number;
  /** messageBytesMax bounds the entry bytes in one append message (one entry is always allowed). */
  readonly messageBytesMax: number;
  /** uncommittedEntriesMax bounds the leader's appended but uncommitted entries; proposals beyond get BACKPRESSURE. */
  readonly uncommittedEntriesMax: number;
  /** readIndexQueueMax bounds pending ReadIndex requests. */
  readonly readIndexQueueMax: number;
  /** learnerCatchUpEntriesMax: a learner may be promoted only when its match is within this many entries of the leader's last index. */
  readonly learnerCatchUpEntriesMax: number;
  /** applied is the index the state machine already applied durably (0 when unknown; never above the commit index). */
  readonly applied: number;
  /** logger receives one line per notable state change (elections, step-downs, rejections); optional. */
  readonly logger?: (line: string) => void;
}

/** RAFT_CONFIG_DEFAULTS are the defaults for everything but id, storage and rng. */
export const RAFT_CONFIG_DEFAULTS = {
  electionTicks: 50,
  heartbeatTicks: 5,
  unreachableCampaignDelayTicksMax: 3,
  inflightMessagesMax: 256,
  messageBytesMax: 1024 * 1024,
  uncommittedEntriesMax: 100_000,
  readIndexQueueMax: 10_000,
  learnerCatchUpEntriesMax: 1_000,
  applied: 0,
} as const;

/** RaftConfigError is thrown by validateRaftConfig; its message names the setting and the allowed range. */
export class RaftConfigError extends Error {
  override readonly name = 'RaftConfigError';
}

function requireInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RaftConfigError(
      `raft config: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
}

/** validateRaftConfig refuses a config with a bad value, naming the setting. */
export function validateRaftConfig(config: RaftConfig): void {
  if (typeof config.id !== 'string' || config.id.length === 0) {
    throw new RaftConfigError('raft config: id must be a non-empty string');
  }
  if (config.incarnation !== undefined && !isIncarnation(config.incarnation)) {
    throw new RaftConfigError(
      `raft config: incarnation must be 1-${INCARNATION_CHARS_MAX} letters, digits or '-', got ${JSON.stringify(config.incarnation)}`,
    );
  }
  requireInt('electionTicks', config.electionTicks, 2, 1_000_000);
  requireInt('heartbeatTicks', config.heartbeatTicks, 1, config.electionTicks - 1);
  requireInt(
    'unreachableCampaignDelayTicksMax',
    config.unreachableCampaignDelayTicksMax,
    1,
    config.electionTicks,
  );
  if (config.electionStretchTicksMax !== undefined) {
    requireInt('electionStretchTicksMax', config.electionStretchTicksMax, 0, 10 * config.electionTicks);
  }
  requireInt('inflightMessagesMax', config.inflightMessagesMax, 1, 1_000_000);
  requireInt('messageBytesMax', config.messageBytesMax, 1, 1024 * 1024 * 1024);
  requireInt('uncommittedEntriesMax', config.uncommittedEntriesMax, 1, 100_000_000);
  requireInt('readIndexQueueMax', config.readIndexQueueMax, 1, 100_000_000);
  requireInt('learnerCatchUpEntriesMax', config.learnerCatchUpEntriesMax, 0, 100_000_000);
  requireInt('applied', config.applied, 0, Number.MAX_SAFE_INTEGER);
}
