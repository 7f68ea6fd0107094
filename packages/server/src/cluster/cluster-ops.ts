import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { ServerError, toServerError } from '../errors/error-table';

/** MemberView is one member as this node sees it. */
export interface MemberView {
  readonly id: string;
  readonly voter: boolean;
  /** self is true for the node that answered. */
  readonly self: boolean;
  /** peerAddress is where this node reaches it ('' for itself). */
  readonly peerAddress: string;
  /** connected: this node's link to it is up (always true for itself). */
  readonly connected: boolean;
  /** match is the last index the leader knows it holds (leader only; -1 elsewhere). */
  readonly match: number;
  /** lagEntries is how far it is behind the leader's last index (leader only; -1 elsewhere). */
  readonly lagEntries: number;
}

/** members lists the configuration with link state and, on the leader, replication progress. */
export function members(node: RaftNode<ApplyResult>): MemberView[] {
  const s = node.status();
  const view = (id: string, voter: boolean): MemberView => {
    const progress = s.progress[id];
    const self = id === s.id;
    return {
      id,
      voter,
      self,
      peerAddress: self ? '' : (s.peers[id]?.address ?? ''),
      connected: self || s.peers[id]?.connected === true,
      match: progress?.match ?? -1,
      lagEntries: progress === undefined ? -1 : Math.max(0, s.lastIndex - progress.match),
    };
  };
  return [
    ...s.membership.voters.map((id) => view(id, true)),
    ...s.membership.learners.map((id) => view(id, false)),
  ];
}

/**
 * transferLeadership hands leadership from this node (which must lead) to `to`, or, when `to` is
 * empty, to the most caught-up other voter; it resolves once a new leader is known, or fails
 * with DEADLINE_EXCEEDED after `timeoutMs` (the old leader keeps leading when a transfer times out).
 */
export async function transferLeadership(
  node: RaftNode<ApplyResult>,
  to: string,
  timeoutMs: number,
): Promise<{ leader: string; term: number }> {
  const s = node.status();
  if (s.role !== 'leader') {
    throw new ServerError('NOT_LEADER', `node ${s.id} is not the leader; ask ${s.leader || 'the leader'}`, {
      leaderHint: s.leader,
    });
  }
  let target = to;
  if (target === '') {
    const candidates = s.membership.voters.filter((v) => v !== s.id);
    if (candidates.length === 0) {
      throw new ServerError(
        'INVALID_TRANSFER_TARGET',
        'this is the only voter: there is nobody to hand leadership to',
      );
    }
    target = candidates.reduce((best, v) =>
      (s.progress[v]?.match ?? 0) > (s.progress[best]?.match ?? 0) ? v : best,
    );
  }
  const changed = new Promise<{ leader: string; term: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      node.off('leader', onLeader);
      reject(
        new ServerError(
          'DEADLINE_EXCEEDED',
          `leadership did not move to ${target} within ${timeoutMs} ms; ${s.id} keeps leading. Check that ${target} is connected and caught up (GET /cluster/members)`,
        ),
      );
    }, timeoutMs);
    const onLeader = (leader: string, term: number): void => {
      if (leader === '' || leader === s.id) return;
      clearTimeout(timer);
      node.off('leader', onLeader);
      resolve({ leader, term });
    };
    node.on('leader', onLeader);
  });
  try {
    node.transferLeadership(target);
  } catch (e) {
    changed.catch(() => undefined);
    throw toServerError(e);
  }
  return changed;
}
