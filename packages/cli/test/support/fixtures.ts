import type { HolderRef, LeadershipEvent, LeaseView, Members, NodeStatus } from '@omnirelay/client-sdk';
import { expiresAtOf } from '@omnirelay/client-sdk';

/** NOW_MS is the injected "now" of every golden rendering: 2023-11-14T22:13:20.000Z. */
export const NOW_MS = 1_700_000_000_000;

/** lease builds a LeaseView whose times are relative to NOW_MS. */
export function lease(
  scope: string,
  candidateId: string,
  fence: bigint,
  options: { term?: bigint; ttlMs?: number; expiresInMs?: number; metadata?: string } = {},
): LeaseView {
  const ttlMs = options.ttlMs ?? 10_000;
  const deadlineMs = NOW_MS + (options.expiresInMs ?? ttlMs);
  return {
    leaderId: candidateId,
    scope,
    fenceToken: fence,
    expiresAt: expiresAtOf(deadlineMs),
    expiresAtMs: deadlineMs,
    candidateId,
    sessionId: '',
    metadata: options.metadata ?? '',
    term: options.term ?? 1n,
    fence,
    ttlMs,
    deadlineMs,
    grantedAtMs: deadlineMs - ttlMs - 5000,
    lastRenewedAtMs: deadlineMs - ttlMs,
    revision: fence,
  };
}

/** holder builds a former holder as the SDK hands it out (both names of each field). */
function holder(candidateId: string, fence: bigint): HolderRef {
  return { leaderId: candidateId, fenceToken: fence, candidateId, fence };
}

/** LEASES are listed out of order on purpose: renderers sort by scope. */
export const LEASES: readonly LeaseView[] = [
  lease('shard/orders/2', 'orders-worker-7f9c', 41n, { term: 3n, ttlMs: 15_000, expiresInMs: 8_250 }),
  lease('global-control', 'control-a', 12n, {
    ttlMs: 10_000,
    expiresInMs: 9_999,
    metadata: '{"addr":"10.0.0.5:9000"}',
  }),
  lease('shard/orders/10', 'orders-worker-1a2b', 18_446_744_073_709_551_615n, {
    term: 12n,
    ttlMs: 3_600_000,
    expiresInMs: 3_541_000,
  }),
  lease('shard/billing/1', 'billing-0', 7n, { ttlMs: 500, expiresInMs: -300 }),
  lease('shard/orders/1', 'orders-worker-1a2b', 39n, { term: 2n, ttlMs: 90_000, expiresInMs: 65_000 }),
];

/** EVENTS cover a grant with a previous holder, a first grant, and a scope falling vacant. */
export const EVENTS: readonly LeadershipEvent[] = [
  {
    revision: 42n,
    scope: 'shard/orders/2',
    term: 4n,
    reason: 'granted',
    previous: holder('orders-worker-7f9c', 41n),
    holder: lease('shard/orders/2', 'orders-worker-3d4e', 42n, { term: 4n, ttlMs: 15_000 }),
    correlationId: 'c-42',
    raftTerm: 5n,
    proposerId: 'n2',
    stampMs: NOW_MS + 1_000,
    principal: 'token/ops',
  },
  {
    revision: 43n,
    scope: 'shard/new/1',
    term: 1n,
    reason: 'granted',
    previous: null,
    holder: lease('shard/new/1', 'has space', 43n, { ttlMs: 2_000 }),
    correlationId: '',
    raftTerm: 5n,
    proposerId: 'n2',
    stampMs: NOW_MS + 1_500,
    principal: 'token/ops',
  },
  {
    revision: 44n,
    scope: 'global-control',
    term: 2n,
    reason: 'steppedDown',
    previous: holder('control-a', 12n),
    holder: null,
    correlationId: 'ops-1',
    raftTerm: 5n,
    proposerId: 'n2',
    stampMs: NOW_MS + 2_000,
    principal: 'token/ops',
  },
];

function node(address: string, id: string, role: string, leader: string, applied: bigint): NodeStatus {
  return {
    address,
    nodeId: id,
    role,
    term: 5n,
    leader,
    commit: 120n,
    applied,
    members: [
      { id: 'n3', voter: true },
      { id: 'n1', voter: true },
      { id: 'n4', voter: false },
      { id: 'n2', voter: true },
    ],
  };
}

/** STATUS has a leader, a lagging follower, a refused endpoint and one that timed out. */
export const STATUS = [
  node('10.0.0.1:7301', 'n1', 'follower', 'n2', 118n),
  node('10.0.0.2:7301', 'n2', 'leader', 'n2', 120n),
  {
    address: '10.0.0.3:7301',
    error: { code: 'UNAVAILABLE', message: 'cannot reach 10.0.0.3:7301 (connection refused)' },
  },
  {
    address: '10.0.0.4:7301',
    error: { code: 'DEADLINE_EXCEEDED', message: '10.0.0.4:7301 did not answer in time' },
  },
  { ...node('10.0.0.5:7301', 'n5', 'candidate', '', 100n), term: 6n },
] as const;

/** MEMBERS_FROM_LEADER is Members as the Raft leader answers it. */
export const MEMBERS_FROM_LEADER: Members = {
  nodeId: 'n2',
  leader: 'n2',
  members: [
    {
      id: 'n3',
      voter: true,
      self: false,
      peerAddress: '10.0.0.3:7101',
      connected: false,
      match: 80,
      lagEntries: 40,
    },
    { id: 'n2', voter: true, self: true, peerAddress: '', connected: true, match: 120, lagEntries: 0 },
    {
      id: 'n4',
      voter: false,
      self: false,
      peerAddress: '10.0.0.4:7101',
      connected: true,
      match: 119,
      lagEntries: 1,
    },
    {
      id: 'n1',
      voter: true,
      self: false,
      peerAddress: '10.0.0.1:7101',
      connected: true,
      match: 120,
      lagEntries: 0,
    },
  ],
};

/** MEMBERS_FROM_FOLLOWER is Members as a follower answers it (no replication progress). */
export const MEMBERS_FROM_FOLLOWER: Members = {
  nodeId: 'n1',
  leader: '',
  members: [
    {
      id: 'n2',
      voter: true,
      self: false,
      peerAddress: '10.0.0.2:7101',
      connected: true,
      match: -1,
      lagEntries: -1,
    },
    { id: 'n1', voter: true, self: true, peerAddress: '', connected: true, match: -1, lagEntries: -1 },
  ],
};
