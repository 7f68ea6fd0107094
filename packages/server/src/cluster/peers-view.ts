import type { RaftNodeStatus } from '@omnirelay/raft';
import type { DiskSpaceStatus } from '../disk/disk-space-monitor';
import { ServerError } from '../errors/error-table';

/**
 * PEER_LAG_ENTRIES_MAX: a member more entries behind the leader's last index than this is
 * unhealthy. It is the Raft core's learner promotion bound (learnerCatchUpEntriesMax, 1,000).
 */
export const PEER_LAG_ENTRIES_MAX = 1000;

/** PEER_ROLES are the roles GET /control/peers reports and filters by. */
export const PEER_ROLES = ['leader', 'voter', 'learner'] as const;

/** PeerRole is one of PEER_ROLES: a voter that leads is `leader`. */
export type PeerRole = (typeof PEER_ROLES)[number];

/**
 * HEALTHY_MEANS says, in the answer itself, what `healthy` means: a member is healthy when the
 * answering node's link to it is up, it is at most PEER_LAG_ENTRIES_MAX entries behind (known on
 * the leader), its clock is within the skew bound of the answering node's (when measured), it is
 * not bound to another store (staleMembers), and, for the answering node itself, its disk is not low.
 */
export const HEALTHY_MEANS = `link up, at most ${PEER_LAG_ENTRIES_MAX} entries behind the leader, clock offset within --skew-ms-max, not bound to another store, and (answering node) disk not low`;

/** PeerView is one member as GET /control/peers reports it, from the answering node's view. */
export interface PeerView {
  readonly id: string;
  readonly role: PeerRole;
  /** self is true for the node that answered. */
  readonly self: boolean;
  /** addresses: peer, client HTTP and public gRPC host:port; null where the answering node does not know it. */
  readonly addresses: {
    readonly peer: string | null;
    readonly client: string | null;
    readonly grpc: string | null;
  };
  /** link is `self`, `up` or `down`: the answering node's outbound peer link to the member. */
  readonly link: 'self' | 'up' | 'down';
  /** match, lagEntries and replication are the leader's progress; null when a follower answered. */
  readonly match: number | null;
  readonly lagEntries: number | null;
  readonly replication: 'probe' | 'replicate' | 'snapshot' | null;
  /** clockOffsetMs is how far the answering node's wall clock is ahead of the member's; null when unmeasured. */
  readonly clockOffsetMs: number | null;
  /** version and diskFreeBytes are known for the answering node only (null for the others). */
  readonly version: string | null;
  readonly diskFreeBytes: number | null;
  /** healthy is HEALTHY_MEANS; problems names each reason it is not (empty when healthy). */
  readonly healthy: boolean;
  readonly problems: readonly string[];
}

/** PeersInput is what the view is computed from: the node's status and the answering node's own facts. */
export interface PeersInput {
  readonly status: RaftNodeStatus;
  readonly version: string;
  readonly disk: DiskSpaceStatus | undefined;
  readonly clientAddresses: (id: string) => { http: string | undefined; grpc: string | undefined };
  /** selfAddresses are the answering node's own client HTTP and gRPC addresses. */
  readonly selfAddresses: { readonly http: string; readonly grpc: string | undefined };
  readonly skewMsMax: number;
}

/** PeersFilter picks members: by role (any of), and only unhealthy ones. */
export interface PeersFilter {
  readonly roles?: readonly PeerRole[];
  readonly unhealthyOnly?: boolean;
}

/**
 * peersView lists every member of the configuration, sorted by id, with its role, addresses, link
 * state, replication progress, clock offset and health (see HEALTHY_MEANS), then applies `filter`.
 * A pure function of its input, so it is tested without a cluster.
 */
export function peersView(input: PeersInput, filter: PeersFilter = {}): PeerView[] {
  const s = input.status;
  const ids = [...s.membership.voters, ...s.membership.learners].sort();
  const all = ids.map((id): PeerView => {
    const self = id === s.id;
    const role: PeerRole =
      id === s.leader ? 'leader' : s.membership.voters.includes(id) ? 'voter' : 'learner';
    const link = s.peers[id];
    const progress = s.progress[id];
    const client = self
      ? { http: input.selfAddresses.http, grpc: input.selfAddresses.grpc }
      : input.clientAddresses(id);
    const lagEntries = progress === undefined ? null : Math.max(0, s.lastIndex - progress.match);
    const clockOffsetMs = self ? 0 : (link?.clockOffsetMs ?? null);
    const problems: string[] = [];
    if (!self && link?.connected !== true) problems.push('link down');
    if (lagEntries !== null && lagEntries > PEER_LAG_ENTRIES_MAX)
      problems.push(`${lagEntries} entries behind`);
    if (clockOffsetMs !== null && Math.abs(clockOffsetMs) > input.skewMsMax) {
      problems.push(`clock offset ${clockOffsetMs} ms beyond ${input.skewMsMax} ms`);
    }
    if (s.staleMembers[id] !== undefined) problems.push('bound to another store');
    if (self && input.disk?.low === true) problems.push('disk low');
    return {
      id,
      role,
      self,
      addresses: {
        peer: self ? s.peerAddress : (link?.address ?? null),
        client: client.http ?? null,
        grpc: client.grpc ?? null,
      },
      link: self ? 'self' : link?.connected === true ? 'up' : 'down',
      match: progress?.match ?? null,
      lagEntries,
      replication: progress?.state ?? null,
      clockOffsetMs,
      version: self ? input.version : null,
      diskFreeBytes: self ? (input.disk?.freeBytes ?? null) : null,
      healthy: problems.length === 0,
      problems,
    };
  });
  return all.filter(
    (p) =>
      (filter.roles === undefined || filter.roles.includes(p.role)) &&
      (filter.unhealthyOnly !== true || !p.healthy),
  );
}

/**
 * parsePeersFilter reads `?role=leader,voter,learner` (any of) and `?unhealthy=true|false`;
 * anything else is INVALID_ARGUMENT naming the parameter.
 */
export function parsePeersFilter(query: URLSearchParams): PeersFilter {
  const role = query.get('role');
  const unhealthy = query.get('unhealthy');
  const roles = role === null ? undefined : role.split(',').map((r) => r.trim());
  for (const r of roles ?? []) {
    if (!(PEER_ROLES as readonly string[]).includes(r)) {
      throw new ServerError(
        'INVALID_ARGUMENT',
        `role ${JSON.stringify(r)} must be one of ${PEER_ROLES.join(', ')}`,
      );
    }
  }
  if (unhealthy !== null && unhealthy !== 'true' && unhealthy !== 'false') {
    throw new ServerError(
      'INVALID_ARGUMENT',
      `unhealthy must be true or false, got ${JSON.stringify(unhealthy)}`,
    );
  }
  return {
    ...(roles === undefined ? {} : { roles: roles as PeerRole[] }),
    ...(unhealthy === null ? {} : { unhealthyOnly: unhealthy === 'true' }),
  };
}
