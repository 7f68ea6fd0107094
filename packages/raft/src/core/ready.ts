import type { Message } from './messages';
import type { Entry, HardState, ReadState, Snapshot, SoftState } from './types';

/**
 * Ready is the work the core hands to its runtime. The runtime must, in order:
 * 1. send `earlyMessages` at once (a leader's appends may go out in parallel with its fsync);
 * 2. make `hardState`, `snapshot` and `entries` durable together (one synced batch) and then
 *    update its RaftStorage mirror;
 * 3. send `messages` (they promise durable state: votes, append acknowledgements);
 * 4. restore the state machine from `snapshot` if present, then apply `committedEntries` in order;
 * 5. call `advance()`.
 * Only one Ready is outstanding at a time. Without a snapshot, the committed entries the runtime
 * already holds durably (below the first of `entries` and within its stored log) may be applied
 * before step 2, and while the write is in flight `takeEarlyCommittedEntries()` hands over what
 * commits meanwhile of the durable log: committed entries are durable on a quorum, and only
 * their own proposals wait on them, never on a write of newer entries.
 */
export interface Ready {
  /** softState is set when the role or the known leader changed since the last Ready. */
  readonly softState: SoftState | undefined;
  /** hardState is set when term, vote or commit changed and must be persisted. */
  readonly hardState: HardState | undefined;
  /** entries are new log entries to persist; the first may overwrite an existing suffix. */
  readonly entries: readonly Entry[];
  /** snapshot is a snapshot received from the leader, to persist and install. */
  readonly snapshot: Snapshot | undefined;
  /** committedEntries are committed entries to apply now, in index order. */
  readonly committedEntries: readonly Entry[];
  /** earlyMessages may be sent before this Ready is persisted. */
  readonly earlyMessages: readonly Message[];
  /** messages may be sent only after this Ready is persisted. */
  readonly messages: readonly Message[];
  /** readStates are ReadIndex requests confirmed since the last Ready. */
  readonly readStates: readonly ReadState[];
}
