import type { NodeId } from '../../src/core/index';

/** TERM_RADIX bounds the terms a history can key: (index, term) pairs are packed as index·TERM_RADIX + term. */
export const TERM_RADIX = 1_000_000;

/** LoggedEntry is what the log-matching checker remembers of the first sighting of an (index, term) pair. */
export interface LoggedEntry {
  readonly digest: number;
  /** prevTerm is the term of the entry just before it in the log that held it. */
  readonly prevTerm: number;
  readonly node: NodeId;
}

/** ProposalRecord tracks one client proposal from the leader's acceptance to its outcome. */
export interface ProposalRecord {
  readonly id: string;
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
  readonly digest: number;
  outcome: 'pending' | 'committed' | 'failed';
}

/** ReadRecord tracks one ReadIndex request from its issue to its confirmation and service. */
export interface ReadRecord {
  readonly requestId: string;
  readonly node: NodeId;
  /** appliedAtIssue is the highest index applied anywhere when the request was issued. */
  readonly appliedAtIssue: number;
  /** readIndex is the index the core confirmed (undefined until a ReadState arrives). */
  readIndex: number | undefined;
  served: boolean;
}

/** LeaderWatch is what the append-only checker remembers of a leader's log at its last Ready. */
export interface LeaderWatch {
  readonly term: number;
  readonly incarnation: number;
  readonly lastIndex: number;
}

/** CompletenessCursor is how far the leader-completeness checker has scanned the applied log for one leader. */
export interface CompletenessCursor {
  readonly term: number;
  readonly incarnation: number;
  readonly scanned: number;
}

/**
 * SafetyHistory is the incremental record the checkers consult and extend, kept for one whole
 * simulated history (across crashes and restarts), so that each check after a step costs only
 * what changed: the leader of each term, every (index, term) pair ever seen in any log, the one
 * applied sequence every state machine must follow, and the client's proposals and reads.
 * The checkers in checkers.ts are its only writers.
 */
export class SafetyHistory {
  /** leaderOfTerm records, for every term in which a leader was seen, who it was. */
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** loggedEntries maps index·TERM_RADIX + term to the first sighting of that entry. */
  readonly loggedEntries = new Map<number, LoggedEntry>();
  /** appliedTerms[i], appliedDigests[i] and chains[i] describe index i of the applied sequence (index 0 is the empty start). */
  readonly appliedTerms: number[] = [0];
  readonly appliedDigests: number[] = [0];
  readonly chains: number[] = [0];
  /** commitTermBound[i] is an upper bound of the term in which index i was committed (the lowest term of a node seen applying it). */
  readonly commitTermBound: number[] = [0];
  /** votersAt[i] is the number of voters in the configuration as of applied index i. */
  readonly votersAt: number[];
  /** nodeApplied is each live node's last applied index, to check exactly-once, in-order application. */
  readonly nodeApplied = new Map<NodeId, number>();
  /** leaderWatch is each node's log end at its last Ready as leader (checkLeaderAppendOnly). */
  readonly leaderWatch = new Map<NodeId, LeaderWatch>();
  /** completeness is each leader's scan position over the applied sequence (checkLeaderCompleteness). */
  readonly completeness = new Map<NodeId, CompletenessCursor>();
  /** proposalsAt maps an index to the proposals accepted at it that are still pending. */
  readonly proposalsAt = new Map<number, ProposalRecord[]>();
  /** proposals holds every accepted proposal by id, settled or not. */
  readonly proposals = new Map<string, ProposalRecord>();
  /** reads holds every accepted ReadIndex request by id. */
  readonly reads = new Map<string, ReadRecord>();

  /** constructor starts a history for a cluster bootstrapped with `initialVoters` voters. */
  constructor(initialVoters: number) {
    this.votersAt = [initialVoters];
  }

  /** appliedMax is the highest index any state machine has applied. */
  get appliedMax(): number {
    return this.appliedTerms.length - 1;
  }

  /** entryKey packs (index, term) into one number for the log-matching map. */
  static entryKey(index: number, term: number): number {
    if (term >= TERM_RADIX || term < 0)
      throw new Error(`safety history: term ${term} outside [0, ${TERM_RADIX})`);
    return index * TERM_RADIX + term;
  }
}
