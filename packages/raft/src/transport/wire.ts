import type { Entry, Membership, Message, SnapshotMeta } from '../core/index';

/**
 * WireMessage is a RaftMessage as @grpc/proto-loader presents it (longs as numbers, enums as
 * strings, defaults filled in). Fields a message type does not use are zero.
 */
export interface WireMessage {
  type: string;
  from: string;
  to: string;
  term: number;
  lastLogIndex: number;
  lastLogTerm: number;
  reason: string;
  reject: boolean;
  prevLogIndex: number;
  prevLogTerm: number;
  entries: WireEntry[];
  commit: number;
  index: number;
  hintIndex: number;
  hintTerm: number;
  readSeq: number;
  /** incarnation is the sender's store incarnation ('' for none). */
  incarnation: string;
}

/** WireEntry is an Entry on the wire. */
export interface WireEntry {
  index: number;
  term: number;
  kind: string;
  data: Uint8Array;
  membership: Membership | null;
  change: WireConfigChange | null;
}

/**
 * WireConfigChange is a ConfigChange on the wire: `address`, `incarnation`, `clientAddress` and
 * `grpcAddress` are '' (or absent) when there is none.
 */
export interface WireConfigChange {
  type: string;
  node: string;
  address?: string;
  incarnation?: string;
  clientAddress?: string;
  grpcAddress?: string;
}

/** CHANGE_OPTIONAL_FIELDS are a ConfigChange's optional strings, each left out when empty on the wire. */
const CHANGE_OPTIONAL_FIELDS = ['address', 'incarnation', 'clientAddress', 'grpcAddress'] as const;

/** MEMBERSHIP_BOOKS are a Membership's optional maps, each left out when empty on the wire. */
const MEMBERSHIP_BOOKS = ['addresses', 'incarnations', 'clientAddresses', 'grpcAddresses'] as const;

/** WireSnapshotMeta is SnapshotMeta on the wire. */
export interface WireSnapshotMeta {
  index: number;
  term: number;
  membership: Membership | null;
}

const EMPTY = new Uint8Array(0);

function entryToWire(e: Entry): WireEntry {
  switch (e.kind) {
    case 'command':
      return {
        index: e.index,
        term: e.term,
        kind: 'ENTRY_KIND_COMMAND',
        data: e.data,
        membership: null,
        change: null,
      };
    case 'noop':
      return {
        index: e.index,
        term: e.term,
        kind: 'ENTRY_KIND_NOOP',
        data: EMPTY,
        membership: null,
        change: null,
      };
    case 'config':
      return {
        index: e.index,
        term: e.term,
        kind: 'ENTRY_KIND_CONFIG',
        data: EMPTY,
        membership: e.membership,
        change: e.change,
      };
  }
}

/**
 * entryFromWire converts a wire entry back; unknown kinds come out as objects the core's
 * validation rejects (the transport never trusts what it decodes).
 */
export function entryFromWire(w: WireEntry): unknown {
  switch (w.kind) {
    case 'ENTRY_KIND_COMMAND':
      return { kind: 'command', index: w.index, term: w.term, data: w.data };
    case 'ENTRY_KIND_NOOP':
      return { kind: 'noop', index: w.index, term: w.term };
    case 'ENTRY_KIND_CONFIG':
      return {
        kind: 'config',
        index: w.index,
        term: w.term,
        membership: membershipFromWire(w.membership),
        change:
          w.change === null
            ? null
            : {
                type: w.change.type,
                node: w.change.node,
                ...nonEmptyFields(w.change),
              },
      };
    default:
      return { kind: w.kind };
  }
}

/** nonEmptyFields keeps the optional strings of a wire ConfigChange that are set ('' means none). */
function nonEmptyFields(c: WireConfigChange): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CHANGE_OPTIONAL_FIELDS) {
    const value = c[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

function membershipFromWire(m: Membership | null): Membership | null {
  if (m === null) return null;
  // An empty map on the wire means no book (proto3 cannot tell the two apart); the books keep
  // their order, so a membership decodes to the same bytes it was encoded from.
  const books: Record<string, Record<string, string>> = {};
  for (const name of MEMBERSHIP_BOOKS) {
    const book = m[name] ?? {};
    if (Object.keys(book).length > 0) books[name] = { ...book };
  }
  return { voters: [...m.voters], learners: [...m.learners], ...books };
}

/** NO_ENTRIES is the entries of every wire message that carries none (never written to). */
const NO_ENTRIES: WireEntry[] = [];

/**
 * messageToWire converts a Raft message (other than a snapshot, which travels in chunks) for the
 * wire. Every message gets all the fields in one object literal of one shape, then its type's own:
 * spreading a template into each message cost more than the rest of its encoding.
 */
export function messageToWire(m: Exclude<Message, { type: 'snapshot' }>): WireMessage {
  const w: WireMessage = {
    type: m.type,
    from: m.from,
    to: m.to,
    term: m.term,
    lastLogIndex: 0,
    lastLogTerm: 0,
    reason: '',
    reject: false,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: NO_ENTRIES,
    commit: 0,
    index: 0,
    hintIndex: 0,
    hintTerm: 0,
    readSeq: 0,
    incarnation: m.incarnation ?? '',
  };
  switch (m.type) {
    case 'preVote':
    case 'vote':
      w.lastLogIndex = m.lastLogIndex;
      w.lastLogTerm = m.lastLogTerm;
      w.reason = m.reason;
      break;
    case 'preVoteResponse':
    case 'voteResponse':
      w.reject = m.reject;
      break;
    case 'append':
      w.prevLogIndex = m.prevLogIndex;
      w.prevLogTerm = m.prevLogTerm;
      w.entries = m.entries.map(entryToWire);
      w.commit = m.commit;
      break;
    case 'appendResponse':
      w.reject = m.reject;
      w.index = m.index;
      w.hintIndex = m.hintIndex;
      w.hintTerm = m.hintTerm;
      break;
    case 'heartbeat':
      w.commit = m.commit;
      w.readSeq = m.readSeq;
      break;
    case 'heartbeatResponse':
      w.readSeq = m.readSeq;
      break;
    case 'timeoutNow':
      break;
  }
  return w;
}

/**
 * messageFromWire converts a wire message to the core's shape, keeping only the fields its type
 * uses (and `incarnation` only when set). The result is unvalidated: the caller checks it with
 * isWellFormedMessage.
 */
export function messageFromWire(w: WireMessage): unknown {
  const { type, from, to, term } = w;
  let out: Record<string, unknown>;
  switch (type) {
    case 'preVote':
    case 'vote':
      out = {
        type,
        from,
        to,
        term,
        lastLogIndex: w.lastLogIndex,
        lastLogTerm: w.lastLogTerm,
        reason: w.reason,
      };
      break;
    case 'preVoteResponse':
    case 'voteResponse':
      out = { type, from, to, term, reject: w.reject };
      break;
    case 'append':
      out = {
        type,
        from,
        to,
        term,
        prevLogIndex: w.prevLogIndex,
        prevLogTerm: w.prevLogTerm,
        entries: w.entries.map(entryFromWire),
        commit: w.commit,
      };
      break;
    case 'appendResponse':
      out = {
        type,
        from,
        to,
        term,
        reject: w.reject,
        index: w.index,
        hintIndex: w.hintIndex,
        hintTerm: w.hintTerm,
      };
      break;
    case 'heartbeat':
      out = { type, from, to, term, commit: w.commit, readSeq: w.readSeq };
      break;
    case 'heartbeatResponse':
      out = { type, from, to, term, readSeq: w.readSeq };
      break;
    default:
      out = { type, from, to, term };
  }
  if (w.incarnation !== '' && w.incarnation !== undefined) out.incarnation = w.incarnation;
  return out;
}

/** snapshotMetaToWire converts snapshot metadata for the wire. */
export function snapshotMetaToWire(meta: SnapshotMeta): WireSnapshotMeta {
  return { index: meta.index, term: meta.term, membership: meta.membership };
}

/** snapshotMetaFromWire converts snapshot metadata back (unvalidated). */
export function snapshotMetaFromWire(w: WireSnapshotMeta | null): unknown {
  if (w === null) return null;
  return { index: w.index, term: w.term, membership: membershipFromWire(w.membership) };
}

/** wireBytesEstimate estimates a message's encoded size, to bound a batch. */
export function wireBytesEstimate(w: WireMessage): number {
  let bytes = 64;
  for (const e of w.entries) bytes += 32 + e.data.byteLength;
  return bytes;
}
