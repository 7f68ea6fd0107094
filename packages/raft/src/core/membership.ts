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

/** INCARNATION_CHARS_MAX bounds an incarnation id carried in messages and the log. */
export const INCARNATION_CHARS_MAX = 64;

/** isIncarnation accepts an incarnation id: 1..INCARNATION_CHARS_MAX letters, digits and '-'. */
export function isIncarnation(v: unknown): v is string {
  return typeof v === 'string' && v.length <= INCARNATION_CHARS_MAX && /^[A-Za-z0-9-]+$/.test(v);
}

/** incarnationOf is the incarnation `id` is bound to in `membership`, or undefined while it is unbound. */
export function incarnationOf(membership: Membership, id: NodeId): string | undefined {
  return membership.incarnations?.[id];
}

/**
 * applyConfigChange returns the membership after one single-server change, or why it is not
 * allowed: a voter is only added by promoting a learner, voters stay within [1, VOTERS_MAX] and
 * learners within [0, LEARNERS_MAX]; a bind only binds a member that is not bound yet.
 */
export function applyConfigChange(membership: Membership, change: ConfigChange): ConfigChangeCheck {
  const { node } = change;
  if (typeof node !== 'string' || node.length === 0)
    return { ok: false, reason: 'node id must be a non-empty string' };
  const { voters, learners } = membership;
  switch (change.type) {
    case 'addLearner':
      if (isMember(membership, node)) return { ok: false, reason: `${node} is already a member` };
      if (learners.length >= LEARNERS_MAX) {
        return { ok: false, reason: `at most ${LEARNERS_MAX} learners` };
      }
      for (const [name, value] of [
        ['address', change.address],
        ['clientAddress', change.clientAddress],
        ['grpcAddress', change.grpcAddress],
      ] as const) {
        if (value !== undefined && !isPeerAddress(value)) {
          return { ok: false, reason: `${name} ${JSON.stringify(value)} must be host:port` };
        }
      }
      return {
        ok: true,
        membership: withBooks({ voters, learners: sorted([...learners, node]) }, membership, node, {
          address: change.address,
          incarnation: undefined,
          clientAddress: change.clientAddress,
          grpcAddress: change.grpcAddress,
        }),
      };
    case 'promote':
      if (!learners.includes(node)) return { ok: false, reason: `${node} is not a learner` };
      if (voters.length >= VOTERS_MAX) {
        return { ok: false, reason: `at most ${VOTERS_MAX} voters` };
      }
      if (change.incarnation !== undefined && !isIncarnation(change.incarnation)) {
        return { ok: false, reason: `incarnation ${JSON.stringify(change.incarnation)} is malformed` };
      }
      return {
        ok: true,
        membership: withBooks(
          { voters: sorted([...voters, node]), learners: learners.filter((id) => id !== node) },
          membership,
          node,
          { ...clientBooksOf(membership, node), incarnation: change.incarnation },
        ),
      };
    case 'remove':
      if (!isMember(membership, node)) return { ok: false, reason: `${node} is not a member` };
      if (voters.length === 1 && voters[0] === node) {
        return { ok: false, reason: 'cannot remove the last voter' };
      }
      return {
        ok: true,
        membership: withBooks(
          { voters: voters.filter((id) => id !== node), learners: learners.filter((id) => id !== node) },
          membership,
          node,
          NO_BOOK_VALUES,
        ),
      };
    case 'bind':
      if (!isMember(membership, node)) return { ok: false, reason: `${node} is not a member` };
      if (incarnationOf(membership, node) !== undefined) {
        return { ok: false, reason: `${node} is bound already; remove it and add it again to change that` };
      }
      if (!isIncarnation(change.incarnation)) {
        return { ok: false, reason: `incarnation ${JSON.stringify(change.incarnation)} is malformed` };
      }
      return {
        ok: true,
        membership: withBooks({ voters, learners }, membership, node, {
          ...clientBooksOf(membership, node),
          incarnation: change.incarnation,
        }),
      };
  }
}

/** PEER_ADDRESS_CHARS_MAX bounds a peer address carried in the log. */
export const PEER_ADDRESS_CHARS_MAX = 256;

/** isPeerAddress accepts `host:port` (no spaces, a numeric port, bounded length). */
export function isPeerAddress(v: unknown): v is string {
  return typeof v === 'string' && v.length <= PEER_ADDRESS_CHARS_MAX && /^[^:\s]+:\d{1,5}$/.test(v);
}

/** BookValues are one member's entries in the membership's books (undefined: no entry). */
interface BookValues {
  readonly address: string | undefined;
  readonly incarnation: string | undefined;
  readonly clientAddress: string | undefined;
  readonly grpcAddress: string | undefined;
}

/** NO_BOOK_VALUES is a member with no entry in any book (a removed member). */
const NO_BOOK_VALUES: BookValues = {
  address: undefined,
  incarnation: undefined,
  clientAddress: undefined,
  grpcAddress: undefined,
};

/** clientBooksOf is `node`'s addresses as `membership` has them (a promotion or a bind keeps them). */
function clientBooksOf(membership: Membership, node: NodeId): Omit<BookValues, 'incarnation'> {
  return {
    address: membership.addresses?.[node],
    clientAddress: membership.clientAddresses?.[node],
    grpcAddress: membership.grpcAddresses?.[node],
  };
}

/**
 * withBooks returns `m` with the address, incarnation and client address books carried over from
 * `previous`, `node`'s entries set to `set` (or dropped when undefined), and entries of non-members
 * removed. A book with no entry is left out, so memberships without run-time members or bindings
 * keep their exact shape (and bytes).
 */
function withBooks(
  m: { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] },
  previous: Membership,
  node: NodeId,
  set: BookValues,
): Membership {
  const members = new Set([...m.voters, ...m.learners]);
  const book = (
    before: Readonly<Record<NodeId, string>> | undefined,
    value: string | undefined,
  ): Record<NodeId, string> | undefined => {
    const out: Record<NodeId, string> = {};
    for (const id of Object.keys(before ?? {})) {
      const v = before?.[id];
      if (v !== undefined && members.has(id) && id !== node) out[id] = v;
    }
    if (value !== undefined && members.has(node)) out[node] = value;
    const ids = Object.keys(out).sort();
    return ids.length === 0 ? undefined : Object.fromEntries(ids.map((id) => [id, out[id]!]));
  };
  const addresses = book(previous.addresses, set.address);
  const incarnations = book(previous.incarnations, set.incarnation);
  const clientAddresses = book(previous.clientAddresses, set.clientAddress);
  const grpcAddresses = book(previous.grpcAddresses, set.grpcAddress);
  return {
    voters: m.voters,
    learners: m.learners,
    ...(addresses === undefined ? {} : { addresses }),
    ...(incarnations === undefined ? {} : { incarnations }),
    ...(clientAddresses === undefined ? {} : { clientAddresses }),
    ...(grpcAddresses === undefined ? {} : { grpcAddresses }),
  };
}
