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
 * transferLeadership hands leadership from this node (which must lead, else `notLeader()` is
 * thrown) to `to`, or, when `to` is empty, to the most caught-up other voter this node is
 * connected to; it resolves once a new leader is known, or fails with DEADLINE_EXCEEDED after
 * `timeoutMs` (the old leader keeps leading when a transfer times out). It fails at once with
 * INVALID_TRANSFER_TARGET when `to` is empty and no other voter is connected, or when the
 * target's connection drops while it waits (its process stopped): nobody is left to take over,
 * and waiting out `timeoutMs` only delays a planned stop (every member stopped at once). A
 * transfer to this node itself resolves at once.
 */
export async function transferLeadership(
  node: RaftNode<ApplyResult>,
  to: string,
  timeoutMs: number,
  notLeader: () => ServerError,
): Promise<{ leader: string; term: number }> {
  const s = node.status();
  if (s.role !== 'leader') throw notLeader();
  let target = to;
  if (target === '') {
    const others = s.membership.voters.filter((v) => v !== s.id);
    if (others.length === 0) {
      throw new ServerError(
        'INVALID_TRANSFER_TARGET',
        'this is the only voter: there is nobody to hand leadership to',
      );
    }
    const candidates = others.filter((v) => s.peers[v]?.connected === true);
    if (candidates.length === 0) {
      throw new ServerError(
        'INVALID_TRANSFER_TARGET',
        `no other voter is connected to ${s.id} (${others.join(', ')}): there is nobody to hand leadership to now; check the members' links (GET /cluster/members)`,
      );
    }
    target = candidates.reduce((best, v) =>
      (s.progress[v]?.match ?? 0) > (s.progress[best]?.match ?? 0) ? v : best,
    );
  }
  // Leadership is already where it was asked to go: done (a runbook may name the member that stays).
  if (target === s.id) return { leader: s.id, term: s.term };
  const changed = new Promise<{ leader: string; term: number }>((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      node.off('leader', onLeader);
      node.off('peerLost', onPeerLost);
    };
    const timer = setTimeout(() => {
      settle();
      reject(
        new ServerError(
          'DEADLINE_EXCEEDED',
          `leadership did not move to ${target} within ${timeoutMs} ms; ${s.id} keeps leading. Check that ${target} is connected and caught up (GET /cluster/members)`,
        ),
      );
    }, timeoutMs);
    const onLeader = (leader: string, term: number): void => {
      if (leader === '' || leader === s.id) return;
      settle();
      resolve({ leader, term });
    };
    const onPeerLost = (peer: string): void => {
      if (peer !== target) return;
      settle();
      reject(
        new ServerError(
          'INVALID_TRANSFER_TARGET',
          `${target} dropped its connection while leadership was moving to it (it stopped or went down); ${s.id} may keep leading: check GET /cluster/members, then name another target or retry once ${target} is back`,
        ),
      );
    };
    node.on('leader', onLeader);
    node.on('peerLost', onPeerLost);
  });
  try {
    node.transferLeadership(target);
  } catch (e) {
    changed.catch(() => undefined);
    const error = toServerError(e);
    throw error.code === 'NOT_LEADER' ? notLeader() : error;
  }
  return changed;
}

/**
 * clientAddressesOf is member `id`'s client HTTP and public gRPC addresses: the configured ones
 * (--peer-clients, --peer-grpc) first, else those the replicated membership carries for a member
 * added at run time; each undefined when neither knows it. Every forwarded call and every
 * NOT_LEADER asks, so it reads the membership alone, not the node's whole status (which walks
 * every peer link: CPU profiles of ten planned transfers put that at 2.6 % of the nodes' busy time).
 */
export function clientAddressesOf(
  node: RaftNode<ApplyResult>,
  configured: {
    readonly http: Readonly<Record<string, string>>;
    readonly grpc: Readonly<Record<string, string>>;
  },
  id: string,
): { http: string | undefined; grpc: string | undefined } {
  const membership = node.membership;
  return {
    http: configured.http[id] ?? membership.clientAddresses?.[id],
    grpc: configured.grpc[id] ?? membership.grpcAddresses?.[id],
  };
}

/** CONFIG_CHANGE_ATTEMPTS_MAX and CONFIG_CHANGE_RETRY_MS bound the retry of a change refused as still in progress (1 s in all). */
export const CONFIG_CHANGE_ATTEMPTS_MAX = 20;
export const CONFIG_CHANGE_RETRY_MS = 50;

/** MembershipChange is an operator's request to change the configuration (one member at a time). */
export type MembershipChange =
  | {
      readonly type: 'addLearner';
      readonly id: string;
      readonly peerAddress: string;
      /** clientAddress and grpcAddress are its client HTTP and public gRPC host:port, when given. */
      readonly clientAddress?: string;
      readonly grpcAddress?: string;
    }
  | { readonly type: 'promote'; readonly id: string }
  | { readonly type: 'remove'; readonly id: string };

/**
 * changeMembership applies one single-server change on the leader and resolves once it is
 * applied: add a learner (with its peer address and, when given, its client HTTP and gRPC
 * addresses, which every node learns from the log), promote
 * a caught-up learner, or remove a member. Refusals keep the core's codes:
 * CONFIG_CHANGE_IN_PROGRESS, INVALID_CONFIG_CHANGE, LEARNER_NOT_CAUGHT_UP.
 */
export async function changeMembership(
  node: RaftNode<ApplyResult>,
  change: MembershipChange,
  notLeader: () => ServerError,
): Promise<{ members: MemberView[] }> {
  if (!node.isLeader) throw notLeader();
  const id = change.id;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/.test(id)) {
    throw new ServerError(
      'INVALID_ARGUMENT',
      `member id ${JSON.stringify(id)} must be 1-63 letters, digits, '.', '_' or '-'`,
    );
  }
  // A leader refuses a change until its previous change and its own first entry committed; both
  // take milliseconds, so that refusal is retried briefly instead of bouncing to the operator.
  for (let attempt = 1; ; attempt++) {
    try {
      if (change.type === 'addLearner') {
        await node.proposeConfigChange({
          type: 'addLearner',
          node: id,
          address: change.peerAddress,
          ...(change.clientAddress === undefined ? {} : { clientAddress: change.clientAddress }),
          ...(change.grpcAddress === undefined ? {} : { grpcAddress: change.grpcAddress }),
        });
      } else {
        await node.proposeConfigChange({ type: change.type, node: id });
      }
      return { members: members(node) };
    } catch (e) {
      const error = toServerError(e);
      if (error.code === 'NOT_LEADER') throw notLeader();
      if (error.code !== 'CONFIG_CHANGE_IN_PROGRESS' || attempt >= CONFIG_CHANGE_ATTEMPTS_MAX) throw error;
      await new Promise((r) => setTimeout(r, CONFIG_CHANGE_RETRY_MS));
    }
  }
}
