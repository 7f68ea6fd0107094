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
  /** storage is the durable state as the runtime mirrors it. */
  readonly storage: RaftStorage;
  /** rng is the seeded source of election jitter and campaign delays. */
  readonly rng: Rng;
  /** electionTicks is the base election timeout; the randomized timeout is in [electionTicks, 2·electionTicks). */
  readonly electionTicks: number;
  /** heartbeatTicks is the leader's heartbeat interval; it must be below electionTicks. */
  readonly heartbeatTicks: number;
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
  requireInt('electionTicks', config.electionTicks, 2, 1_000_000);
  requireInt('heartbeatTicks', config.heartbeatTicks, 1, config.electionTicks - 1);
  requireInt(
    'unreachableCampaignDelayTicksMax',
    config.unreachableCampaignDelayTicksMax,
    1,
    config.electionTicks,
  );
  requireInt('inflightMessagesMax', config.inflightMessagesMax, 1, 1_000_000);
  requireInt('messageBytesMax', config.messageBytesMax, 1, 1024 * 1024 * 1024);
  requireInt('uncommittedEntriesMax', config.uncommittedEntriesMax, 1, 100_000_000);
  requireInt('readIndexQueueMax', config.readIndexQueueMax, 1, 100_000_000);
  requireInt('learnerCatchUpEntriesMax', config.learnerCatchUpEntriesMax, 0, 100_000_000);
  requireInt('applied', config.applied, 0, Number.MAX_SAFE_INTEGER);
}
