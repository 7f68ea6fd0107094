/**
 * NodeId names a Raft member. Ids are opaque, non-empty strings chosen by the operator
 * (`n1`, `control-0`, …); the core only compares them.
 */
export type NodeId = string;

/** NONE is the NodeId that means "nobody" (no vote cast, no leader known). */
export const NONE: NodeId = '';

/**
 * HardState is what must be durable before any message that depends on it is sent:
 * the current term, the vote cast in it, and the commit index (which may lag on disk; it is
 * only an optimisation for restart, never needed for safety).
 */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/**
 * Membership is a full cluster configuration: the voters (who count for quorums and may
 * campaign) and the learners (who receive the log but never vote or campaign). An id is in at
 * most one of the two lists; both lists are sorted so that equal memberships are equal bytes.
 */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /**
   * addresses maps members added at run time to their peer address, so every node (and a node
   * restored from a snapshot) can reach them. Members configured at start need no entry. The
   * core only carries it; the runtime gives it to the transport.
   */
  readonly addresses?: Readonly<Record<NodeId, string>>;
  /**
   * incarnations binds members to the store they run on: a member's incarnation is a random id
   * its store creates once, when it is created (a wiped data folder makes a new one). A member with
   * an incarnation here counts for quorums (votes, acknowledgements, check-quorum, reads) only
   * through messages that carry that incarnation, so a member that lost its disk cannot vote or
   * be counted with less than it acknowledged (DESIGN.md invariant 5). A member without an entry
   * is not bound yet: the leader binds voters as soon as it hears from them (a `bind` change),
   * promotion binds a learner, removal unbinds. Absent when nobody is bound (old logs keep their bytes).
   */
  readonly incarnations?: Readonly<Record<NodeId, string>>;
  /**
   * clientAddresses and grpcAddresses map members added at run time to their client HTTP and
   * public gRPC addresses (host:port), when the operator gave them, so every node can forward to
   * them and name them in NOT_LEADER. The core only carries them. Absent when no member has one
   * (memberships from before these books keep their exact shape and bytes).
   */
  readonly clientAddresses?: Readonly<Record<NodeId, string>>;
  readonly grpcAddresses?: Readonly<Record<NodeId, string>>;
}

/** EntryCommand carries an opaque state-machine command. */
export interface EntryCommand {
  readonly kind: 'command';
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

/**
 * EntryNoop is the empty entry a new leader appends at once, so that entries of earlier terms
 * commit (Figure 8, §5.4.2) and ReadIndex may be served.
 */
export interface EntryNoop {
  readonly kind: 'noop';
  readonly index: number;
  readonly term: number;
}

/**
 * EntryConfig carries the whole membership that takes effect when the entry is appended (not
 * when committed; single-server changes, thesis §4.1), plus the change that produced it.
 */
export interface EntryConfig {
  readonly kind: 'config';
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
  readonly change: ConfigChange;
}

/** Entry is one slot of the replicated log. */
export type Entry = EntryCommand | EntryNoop | EntryConfig;

/**
 * ConfigChange is one single-server membership change: add a learner (with its peer address and,
 * optionally, its client HTTP and gRPC addresses), promote a learner to
 * voter (binding it to `incarnation`, which the leader fills in from what it heard), remove a
 * member (voter or learner), or bind a member that is not bound yet to the incarnation its
 * messages carry (see Membership.incarnations; the leader proposes binds by itself).
 */
export type ConfigChange =
  | {
      readonly type: 'addLearner';
      readonly node: NodeId;
      readonly address?: string;
      readonly clientAddress?: string;
      readonly grpcAddress?: string;
    }
  | { readonly type: 'promote'; readonly node: NodeId; readonly incarnation?: string }
  | { readonly type: 'remove'; readonly node: NodeId }
  | { readonly type: 'bind'; readonly node: NodeId; readonly incarnation: string };

/**
 * SnapshotMeta describes a snapshot: the last index and term it covers, and the membership as of
 * that index (so a node restored from it still knows its peers).
 */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
}

/** Snapshot is a snapshot's metadata plus the state machine's opaque bytes. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** Role is what a node currently is. */
export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/**
 * SoftState is volatile, observable state that does not need to be persisted: the role and
 * the leader this node currently follows (NONE if unknown).
 */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId;
}

/**
 * ReadState reports that a ReadIndex request may be served once the state machine has applied
 * `index`: leadership was confirmed by a quorum after the request arrived.
 */
export interface ReadState {
  readonly requestId: string;
  readonly index: number;
}

/**
 * entrySizeBytes estimates an entry's size for batching bounds: the payload plus a fixed
 * overhead for index, term and framing.
 */
export function entrySizeBytes(entry: Entry): number {
  const overhead = 24;
  switch (entry.kind) {
    case 'command':
      return overhead + entry.data.byteLength;
    case 'noop':
      return overhead;
    case 'config':
      return overhead + 16 * (entry.membership.voters.length + entry.membership.learners.length);
  }
}
