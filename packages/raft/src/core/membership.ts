import type { ConfigChange, Membership, NodeId } from './types';

/** VOTERS_MAX bounds the voting members (DESIGN.md: 3–7 node clusters; 1 is allowed for development). */
export const VOTERS_MAX = 7;
/** LEARNERS_MAX bounds the non-voting members. */
export const LEARNERS_MAX = 8;

/** isVoter tells whether `id` votes in `membership`. */
export function isVoter(membership: Membership, id: NodeId): boolean {
  return membership.voters.includes(id);
}

/** isMember tells whether `id` is a voter or a learner of `membership`. */
export function isMember(membership: Membership, id: NodeId): boolean {
  return membership.voters.includes(id) || membership.learners.includes(id);
}

/** quorumSize is the number of voters that make a majority. */
export function quorumSize(membership: Membership): number {
  return Math.floor(membership.voters.length / 2) + 1;
}

/** members lists voters then learners. */
export function members(membership: Membership): NodeId[] {
  return [...membership.voters, ...membership.learners];
}

/**
 * quorumIndex returns the highest index that a majority of voters has reached, given each
 * voter's index (a voter missing from `indexOf` counts as 0).
 */
export function quorumIndex(membership: Membership, indexOf: (id: NodeId) => number): number {
  if (membership.voters.length === 0) return 0;
  const sorted = membership.voters.map(indexOf).sort((a, b) => b - a);
  return sorted[quorumSize(membership) - 1]!;
}

/** VoteTally is the outcome of counting votes so far. */
export type VoteTally = 'won' | 'lost' | 'pending';

/** tallyVotes counts granted and rejected votes among the voters. */
export function tallyVotes(membership: Membership, votes: ReadonlyMap<NodeId, boolean>): VoteTally {
  let granted = 0;
  let rejected = 0;
  for (const id of membership.voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorumSize(membership);
  if (granted >= q) return 'won';
  if (rejected > membership.voters.length - q) return 'lost';
  return 'pending';
}

/** ConfigChangeCheck is either the resulting membership or why the change is refused. */
export type ConfigChangeCheck = { ok: true; membership: Membership } | { ok: false; reason: string };

const sorted = (ids: readonly NodeId[]): NodeId[] => [...ids].sort();

/**
 * applyConfigChange returns the membership after one single-server change, or why it is not
 * allowed: a voter is only added by promoting a learner, voters stay within [1, VOTERS_MAX] and
 * learners within [0, LEARNERS_MAX].
 */
export function applyConfigChange(membership: Membership, change: ConfigChange): ConfigChangeCheck {
  const { node } = change;
  if (typeof node !== 'string' || node.length === 0)
    return { ok: false, reason: 'node id must be a non-empty string' };
  switch (change.type) {
    case 'addLearner':
      if (isMember(membership, node)) return { ok: false, reason: `${node} is already a member` };
      if (membership.learners.length >= LEARNERS_MAX) {
        return { ok: false, reason: `at most ${LEARNERS_MAX} learners` };
      }
      if (change.address !== undefined && !isPeerAddress(change.address)) {
        return { ok: false, reason: `address ${JSON.stringify(change.address)} must be host:port` };
      }
      return {
        ok: true,
        membership: withAddress(
          { voters: membership.voters, learners: sorted([...membership.learners, node]) },
          membership.addresses,
          node,
          change.address,
        ),
      };
    case 'promote':
      if (!membership.learners.includes(node)) return { ok: false, reason: `${node} is not a learner` };
      if (membership.voters.length >= VOTERS_MAX) {
        return { ok: false, reason: `at most ${VOTERS_MAX} voters` };
      }
      return {
        ok: true,
        membership: withAddress(
          {
            voters: sorted([...membership.voters, node]),
            learners: membership.learners.filter((id) => id !== node),
          },
          membership.addresses,
          node,
          membership.addresses?.[node],
        ),
      };
    case 'remove':
      if (!isMember(membership, node)) return { ok: false, reason: `${node} is not a member` };
      if (membership.voters.length === 1 && membership.voters[0] === node) {
        return { ok: false, reason: 'cannot remove the last voter' };
      }
      return {
        ok: true,
        membership: withAddress(
          {
            voters: membership.voters.filter((id) => id !== node),
            learners: membership.learners.filter((id) => id !== node),
          },
          membership.addresses,
          node,
          undefined,
        ),
      };
  }
}

/** PEER_ADDRESS_CHARS_MAX bounds a peer address carried in the log. */
export const PEER_ADDRESS_CHARS_MAX = 256;

/** isPeerAddress accepts `host:port` (no spaces, a numeric port, bounded length). */
export function isPeerAddress(v: unknown): v is string {
  return typeof v === 'string' && v.length <= PEER_ADDRESS_CHARS_MAX && /^[^:\s]+:\d{1,5}$/.test(v);
}

/**
 * withAddress returns `m` with the address book carried over from `previous`, `node`'s entry set
 * to `address` (or dropped when undefined), and entries of non-members removed. Without any
 * address the result has no `addresses` field, so memberships without run-time members keep
 * their exact shape (and bytes).
 */
function withAddress(
  m: { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] },
  previous: Readonly<Record<NodeId, string>> | undefined,
  node: NodeId,
  address: string | undefined,
): Membership {
  const members = new Set([...m.voters, ...m.learners]);
  const book: Record<NodeId, string> = {};
  for (const id of Object.keys(previous ?? {}).sort()) {
    const a = previous?.[id];
    if (a !== undefined && members.has(id) && id !== node) book[id] = a;
  }
  if (address !== undefined && members.has(node)) book[node] = address;
  const ids = Object.keys(book).sort();
  if (ids.length === 0) return { voters: m.voters, learners: m.learners };
  return {
    voters: m.voters,
    learners: m.learners,
    addresses: Object.fromEntries(ids.map((id) => [id, book[id]!])),
  };
}
