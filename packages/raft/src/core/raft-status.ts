import type { ProgressStatus } from './leader-replication';
import type { Membership, NodeId, Role } from './types';

/** RaftStatus is a read-only summary of a core's state. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly membership: Membership;
  /** progress has one row per member, on the leader only. */
  readonly progress: Readonly<Record<NodeId, ProgressStatus>>;
  readonly transferee: NodeId;
  /** incarnation is this node's store incarnation ('' when the core has none). */
  readonly incarnation: string;
  /**
   * staleMembers maps each member whose votes and acknowledgements this node refuses, because the
   * configuration binds it to another incarnation, to the incarnation it sent: it lost its data
   * folder (or runs on another one) and must be removed and added again.
   */
  readonly staleMembers: Readonly<Record<NodeId, string>>;
  /**
   * electionStretchTicks is how many ticks this node adds to its election timeout and leader
   * stickiness because the leader it followed was lately silent for a while and then went on
   * (0 when no such silence is remembered).
   */
  readonly electionStretchTicks: number;
}
