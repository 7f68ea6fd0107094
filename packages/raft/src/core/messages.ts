import type { Entry, NodeId, Snapshot } from './types';

/**
 * CampaignReason says why a (pre-)vote was requested. `transfer` (after TimeoutNow) bypasses
 * leader stickiness; `leaderUnreachable` is granted only by peers that saw the same leader loss;
 * `election` is the ordinary election timeout.
 */
export type CampaignReason = 'election' | 'leaderUnreachable' | 'transfer';

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  /** term is the sender's term; for a pre-vote request (and its grant) it is the would-be term. */
  readonly term: number;
  /**
   * incarnation is the sender's store incarnation (see Membership.incarnations), stamped by the
   * core on every message it sends; absent from a core configured without one.
   */
  readonly incarnation?: string;
}

/** PreVoteRequest asks whether the receiver would grant a vote at `term` (thesis §9.6). */
export interface PreVoteRequest extends MessageBase {
  readonly type: 'preVote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly reason: CampaignReason;
}

/** PreVoteResponse answers a pre-vote; a grant carries the would-be term, a rejection the receiver's own. */
export interface PreVoteResponse extends MessageBase {
  readonly type: 'preVoteResponse';
  readonly reject: boolean;
}

/** VoteRequest is RequestVote (§5.2). */
export interface VoteRequest extends MessageBase {
  readonly type: 'vote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly reason: CampaignReason;
}

/** VoteResponse answers RequestVote. */
export interface VoteResponse extends MessageBase {
  readonly type: 'voteResponse';
  readonly reject: boolean;
}

/** AppendRequest is AppendEntries (§5.3): entries after (prevLogIndex, prevLogTerm). */
export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  /** commit is the leader's commit index, capped at what this follower is known or sent to have. */
  readonly commit: number;
}

/**
 * AppendResponse answers an append or a snapshot. On success `index` is the last index the
 * follower now matches. On rejection `index` is the rejected prevLogIndex, and the hint is the
 * follower's best guess of where the logs may agree: the first index of its conflicting term
 * (or its last index + 1 when it is shorter), with that term.
 */
export interface AppendResponse extends MessageBase {
  readonly type: 'appendResponse';
  readonly reject: boolean;
  readonly index: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** Heartbeat keeps followers from campaigning and carries read-index confirmation rounds. */
export interface HeartbeatRequest extends MessageBase {
  readonly type: 'heartbeat';
  /** commit is min(leader commit, follower match): never an index the follower may lack. */
  readonly commit: number;
  /** readSeq is the newest ReadIndex round this heartbeat confirms (0 when none). */
  readonly readSeq: number;
}

/** HeartbeatResponse echoes the read round it acknowledges. */
export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeatResponse';
  readonly readSeq: number;
}

/** SnapshotRequest installs a snapshot on a follower that is behind the leader's compaction point. */
export interface SnapshotRequest extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** TimeoutNow tells the transfer target to campaign at once (thesis §3.10). */
export interface TimeoutNowRequest extends MessageBase {
  readonly type: 'timeoutNow';
}

/** Message is every message Raft peers exchange. */
export type Message =
  | PreVoteRequest
  | PreVoteResponse
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNowRequest;

/** MessageType is the discriminant of Message. */
export type MessageType = Message['type'];

/** MESSAGE_TYPES lists every message type, for validation at the transport edge. */
export const MESSAGE_TYPES: readonly MessageType[] = [
  'preVote',
  'preVoteResponse',
  'vote',
  'voteResponse',
  'append',
  'appendResponse',
  'heartbeat',
  'heartbeatResponse',
  'snapshot',
  'timeoutNow',
];
