import type { Message } from './messages';
import { isWellFormedMessage } from './validate-message';

/**
 * TERM_SAFETY_MARGIN is the part of the term space no node ever enters: terms are JS numbers, exact
 * up to Number.MAX_SAFE_INTEGER (2^53 − 1), and a term that reached that bound could never be
 * followed by a higher one, so no election could ever succeed again (issue 22). Half the space is
 * kept back, so a term near the bound is refused long before `term + 1` stops being exact, and a
 * 2^53 − 1 read from another implementation or a corrupted field is refused on sight.
 */
export const TERM_SAFETY_MARGIN = 2 ** 52;

/**
 * TERM_MAX (2^52 − 1) is the largest term a node accepts from a peer or loads from disk. At one
 * election a millisecond it lasts 140,000 years; only a bad message can get near it.
 */
export const TERM_MAX = Number.MAX_SAFE_INTEGER - TERM_SAFETY_MARGIN;

/**
 * TERM_JUMP_MAX (2^32) bounds how far above this node's term a peer's message may be. Without it,
 * one message at TERM_MAX would leave the cluster no term to move to. With pre-vote, terms only
 * grow by real elections, so a legitimate gap is the number of elections a node missed: a new
 * learner at term 0 joins a cluster that had up to 2^32 of them (one a second for 136 years). One
 * bad message can now raise the term by at most 2^32, leaving 2^20 such messages of room.
 */
export const TERM_JUMP_MAX = 2 ** 32;

/**
 * INDEX_MAX (2^52 − 1) is the largest log index, commit index or read round a node accepts from a
 * peer: at a million entries a second it lasts 142 years. A larger one can only come from a bad
 * message; a snapshot at such an index would leave the log no room to grow.
 */
export const INDEX_MAX = 2 ** 52 - 1;

/**
 * MessageRefusalReason says why a node refused a peer's message on sight: `malformed` (it fails
 * isWellFormedMessage), `misaddressed` (not to this node, or from itself), `termUnusable` (a term
 * above TERM_MAX), `termJump` (more than TERM_JUMP_MAX above this node's term), `indexUnusable` (an
 * index, commit or read round above INDEX_MAX).
 */
export type MessageRefusalReason =
  'malformed' | 'misaddressed' | 'termUnusable' | 'termJump' | 'indexUnusable';

/** MESSAGE_REFUSAL_REASONS lists every MessageRefusalReason, for counters and metric labels. */
export const MESSAGE_REFUSAL_REASONS: readonly MessageRefusalReason[] = [
  'malformed',
  'misaddressed',
  'termUnusable',
  'termJump',
  'indexUnusable',
];

/** MessageRefusal is why a message was refused on sight: a reason, and the message and its numbers as a noun phrase. */
export interface MessageRefusal {
  readonly reason: MessageRefusalReason;
  readonly detail: string;
}

/**
 * largestTerm is the largest term a message names anywhere. An append's entry terms and
 * prevLogTerm, and a snapshot's term, are at most the message term (isWellFormedMessage checks it).
 */
function largestTerm(m: Message): number {
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return Math.max(m.term, m.lastLogTerm);
    case 'appendResponse':
      return Math.max(m.term, m.hintTerm);
    default:
      return m.term;
  }
}

/** largestIndex is the largest log index, commit index or read round a message names anywhere. */
function largestIndex(m: Message): number {
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return m.lastLogIndex;
    case 'append':
      // Entries follow prevLogIndex contiguously (isWellFormedMessage checks it).
      return Math.max(m.prevLogIndex + m.entries.length, m.commit);
    case 'appendResponse':
      return Math.max(m.index, m.hintIndex);
    case 'heartbeat':
      return Math.max(m.commit, m.readSeq);
    case 'heartbeatResponse':
      return m.readSeq;
    case 'snapshot':
      return m.snapshot.meta.index;
    default:
      return 0;
  }
}

/**
 * refuseMessage decides whether node `self`, at term `term`, refuses a peer's message on sight,
 * before Raft looks at it; it returns undefined for a message Raft may act on. Pure: the bounds
 * depend only on the message and the node's term. What is not refused here (membership of the
 * sender, a stale term) is Raft's or the transport's business; packages/raft/design.md says why.
 */
export function refuseMessage(input: unknown, self: string, term: number): MessageRefusal | undefined {
  if (!isWellFormedMessage(input)) return { reason: 'malformed', detail: 'a malformed message' };
  const m = input;
  if (m.to !== self || m.from === self) {
    return { reason: 'misaddressed', detail: `${m.type} addressed to ${m.to} from ${m.from}` };
  }
  const named = largestTerm(m);
  if (named > TERM_MAX) {
    return {
      reason: 'termUnusable',
      detail: `${m.type} from ${m.from} naming term ${named}, above TERM_MAX ${TERM_MAX}`,
    };
  }
  if (m.term - term > TERM_JUMP_MAX) {
    return {
      reason: 'termJump',
      detail: `${m.type} from ${m.from} at term ${m.term}, more than TERM_JUMP_MAX ${TERM_JUMP_MAX} above our term ${term}`,
    };
  }
  const index = largestIndex(m);
  if (index > INDEX_MAX) {
    return {
      reason: 'indexUnusable',
      detail: `${m.type} from ${m.from} naming index ${index}, above INDEX_MAX ${INDEX_MAX}`,
    };
  }
  return undefined;
}
