import type { Message } from './messages';
import { LEARNERS_MAX, VOTERS_MAX, isIncarnation, isPeerAddress } from './membership';
import { MESSAGE_TYPES } from './messages';
import type { Entry, HardState, Membership, Snapshot, SnapshotMeta } from './types';

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const REASONS = new Set(['election', 'leaderUnreachable', 'transfer']);

function isIdList(v: unknown): boolean {
  return Array.isArray(v) && v.every(isId);
}

/**
 * isMembership checks a membership's shape and meaning: every id at most once across both lists
 * (quorums count list entries, so a duplicated voter would count twice), 1..VOTERS_MAX voters and
 * at most LEARNERS_MAX learners.
 */
function isMembership(v: unknown, votersMin = 1): v is Membership {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  if (!isIdList(m.voters) || !isIdList(m.learners)) return false;
  const voters = m.voters as string[];
  const learners = m.learners as string[];
  if (voters.length < votersMin || voters.length > VOTERS_MAX || learners.length > LEARNERS_MAX) return false;
  const ids = new Set([...voters, ...learners]);
  if (ids.size !== voters.length + learners.length) return false;
  // The address and incarnation books name members only, each with a well-formed value. Entries
  // written before the client address books existed have none, which is valid.
  return (
    isBook(m.addresses, ids, isPeerAddress) &&
    isBook(m.incarnations, ids, isIncarnation) &&
    isBook(m.clientAddresses, ids, isPeerAddress) &&
    isBook(m.grpcAddresses, ids, isPeerAddress)
  );
}

function isBook(v: unknown, ids: ReadonlySet<string>, isValue: (value: unknown) => boolean): boolean {
  if (v === undefined) return true;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.entries(v).every(([id, value]) => ids.has(id) && isValue(value));
}

function isConfigChange(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  if (!isId(c.node)) return false;
  switch (c.type) {
    case 'addLearner':
      return [c.address, c.clientAddress, c.grpcAddress].every((a) => a === undefined || isPeerAddress(a));
    case 'promote':
      return c.incarnation === undefined || isIncarnation(c.incarnation);
    case 'remove':
      return true;
    case 'bind':
      return isIncarnation(c.incarnation);
    default:
      return false;
  }
}

/** isWellFormedEntry checks the shape of a log entry from a peer or from disk. */
export function isWellFormedEntry(v: unknown): v is Entry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  if (!isIndex(e.index) || e.index === 0 || !isIndex(e.term) || e.term === 0) return false;
  switch (e.kind) {
    case 'command':
      return e.data instanceof Uint8Array;
    case 'noop':
      return true;
    case 'config':
      return isMembership(e.membership) && isConfigChange(e.change);
    default:
      return false;
  }
}

/** isWellFormedSnapshotMeta checks the shape of snapshot metadata from a peer or from disk. */
export function isWellFormedSnapshotMeta(v: unknown): v is SnapshotMeta {
  if (typeof v !== 'object' || v === null) return false;
  const meta = v as Record<string, unknown>;
  // Only the initial (index 0) snapshot of a node that is joining an existing cluster may have
  // no voters yet: it learns the configuration from the leader.
  const votersMin = meta.index === 0 ? 0 : 1;
  return isIndex(meta.index) && isIndex(meta.term) && isMembership(meta.membership, votersMin);
}

/** isWellFormedHardState checks the shape of a hard state read from disk. */
export function isWellFormedHardState(v: unknown): v is HardState {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Record<string, unknown>;
  return isIndex(h.term) && isIndex(h.commit) && typeof h.vote === 'string';
}

function isSnapshot(v: unknown): v is Snapshot {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return s.data instanceof Uint8Array && isWellFormedSnapshotMeta(s.meta);
}

/**
 * isWellFormedMessage checks a message from a peer before the core acts on it: known type,
 * ids, non-negative safe-integer numbers, and for appends, contiguous entries after
 * prevLogIndex whose terms never decrease and never exceed the message term. A message that
 * fails is ignored (and the runtime counts it), never trusted.
 */
export function isWellFormedMessage(v: unknown): v is Message {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  if (typeof m.type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(m.type)) return false;
  if (!isId(m.from) || !isId(m.to) || !isIndex(m.term)) return false;
  if (m.incarnation !== undefined && !isIncarnation(m.incarnation)) return false;
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return (
        isIndex(m.lastLogIndex) &&
        isIndex(m.lastLogTerm) &&
        typeof m.reason === 'string' &&
        REASONS.has(m.reason)
      );
    case 'preVoteResponse':
    case 'voteResponse':
      return isBool(m.reject);
    case 'append': {
      if (!isIndex(m.prevLogIndex) || !isIndex(m.prevLogTerm) || !isIndex(m.commit)) return false;
      if (!Array.isArray(m.entries) || m.prevLogTerm > m.term) return false;
      let previousTerm = m.prevLogTerm;
      for (let i = 0; i < m.entries.length; i++) {
        const e: unknown = m.entries[i];
        if (
          !isWellFormedEntry(e) ||
          e.index !== m.prevLogIndex + 1 + i ||
          e.term < previousTerm ||
          e.term > m.term
        )
          return false;
        previousTerm = e.term;
      }
      return true;
    }
    case 'appendResponse':
      return isBool(m.reject) && isIndex(m.index) && isIndex(m.hintIndex) && isIndex(m.hintTerm);
    case 'heartbeat':
      return isIndex(m.commit) && isIndex(m.readSeq);
    case 'heartbeatResponse':
      return isIndex(m.readSeq);
    case 'snapshot':
      return isSnapshot(m.snapshot) && m.snapshot.meta.term <= m.term;
    case 'timeoutNow':
      return true;
    default:
      return false;
  }
}
