// Every invariant checker lives in this one file (past the 400-line mark on purpose): the unit
// tests, the simulator and the chaos harness import the whole set from one place, and each
// checker is short and reads against the others.
import type { Entry, NodeId, ReadState, Role } from '../../src/core/index';
import { chainDigest, entryDigest } from './entry-digest';
import type { DurableLogReader, LogView } from './log-view';
import type { ProposalRecord } from './safety-history';
import { SafetyHistory } from './safety-history';

/** CheckerName names each invariant checker; a violation's message starts with it. */
export type CheckerName =
  | 'checkElectionSafety'
  | 'checkLeaderAppendOnly'
  | 'checkLogMatching'
  | 'checkLeaderCompleteness'
  | 'checkStateMachineSafety'
  | 'checkCommittedDurable'
  | 'checkProposalOutcome'
  | 'checkReadIndex';

/**
 * SafetyViolation is thrown by a checker when an invariant fails. Its message starts with the
 * checker's name and names the nodes, terms and indexes involved; `checker` holds the name.
 */
export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
  readonly isSafetyViolation = true;

  constructor(
    readonly checker: CheckerName,
    detail: string,
  ) {
    super(`${checker}: ${detail}`);
  }
}

/** isSafetyViolation tells a SafetyViolation apart from other errors, across Jest realms. */
export function isSafetyViolation(e: unknown): e is SafetyViolation {
  return (
    typeof e === 'object' && e !== null && (e as { isSafetyViolation?: unknown }).isSafetyViolation === true
  );
}

function fail(checker: CheckerName, detail: string): never {
  throw new SafetyViolation(checker, detail);
}

/**
 * checkElectionSafety (§5.2) records that `node` is in `role` at `term` and fails when another
 * node was ever seen leading the same term, at any point of the history.
 */
export function checkElectionSafety(history: SafetyHistory, node: NodeId, term: number, role: Role): void {
  if (role !== 'leader') return;
  const known = history.leaderOfTerm.get(term);
  if (known === undefined) {
    history.leaderOfTerm.set(term, node);
  } else if (known !== node) {
    fail('checkElectionSafety', `term ${term} has two leaders: ${known} and ${node}`);
  }
}

/** ReadyObservation is what the simulator saw of one Ready: who took it, in which role and term, and how the log moved. */
export interface ReadyObservation {
  readonly node: NodeId;
  /** incarnation counts the node's restarts; a restarted node is a new process. */
  readonly incarnation: number;
  readonly role: Role;
  readonly term: number;
  readonly entries: readonly Entry[];
  /** snapshotIndex is the index of the Ready's snapshot, if it carried one. */
  readonly snapshotIndex: number | undefined;
  /** lastIndexBefore and lastIndexAfter are the node's last log index before and after the Ready's entries. */
  readonly lastIndexBefore: number;
  readonly lastIndexAfter: number;
}

/**
 * checkLeaderAppendOnly (§5.3) fails when a node that was leader of a term at its previous
 * Ready and still is at this one (so it led throughout) shrank its log, overwrote an entry,
 * appended an entry of another term, or installed a snapshot. It then records the leader's log
 * end for the next Ready.
 */
export function checkLeaderAppendOnly(history: SafetyHistory, observed: ReadyObservation): void {
  const { node, term } = observed;
  if (observed.role !== 'leader') {
    history.leaderWatch.delete(node);
    return;
  }
  const watch = history.leaderWatch.get(node);
  if (watch !== undefined && watch.term === term && watch.incarnation === observed.incarnation) {
    if (observed.lastIndexBefore < watch.lastIndex) {
      fail(
        'checkLeaderAppendOnly',
        `leader ${node} of term ${term} shrank its log from ${watch.lastIndex} to ${observed.lastIndexBefore}`,
      );
    }
    if (observed.snapshotIndex !== undefined) {
      fail(
        'checkLeaderAppendOnly',
        `leader ${node} of term ${term} installed a snapshot at ${observed.snapshotIndex}`,
      );
    }
    const first = observed.entries[0];
    if (first !== undefined && first.index <= observed.lastIndexBefore) {
      fail(
        'checkLeaderAppendOnly',
        `leader ${node} of term ${term} overwrote its log from index ${first.index} (its log ended at ${observed.lastIndexBefore})`,
      );
    }
    for (const e of observed.entries) {
      if (e.term !== term) {
        fail(
          'checkLeaderAppendOnly',
          `leader ${node} of term ${term} appended entry ${e.index} of term ${e.term}`,
        );
      }
    }
  }
  history.leaderWatch.set(node, {
    term,
    incarnation: observed.incarnation,
    lastIndex: observed.lastIndexAfter,
  });
}

/**
 * checkLogMatching (§5.3, Log Matching) checks the entries a node just put in its log (`view`
 * already includes them). An entry is identified by (index, term); the first sighting of each
 * pair records its content digest and the term of the entry before it. Any later sighting in any
 * log must agree on both, which by induction makes two logs that share (index, term) identical
 * up to that index, over whatever prefix each still holds (a snapshot boundary contributes its
 * term as the predecessor).
 */
export function checkLogMatching(
  history: SafetyHistory,
  node: NodeId,
  view: LogView,
  entries: readonly Entry[],
): void {
  for (const e of entries) {
    const prevTerm = view.term(e.index - 1);
    if (prevTerm === undefined) {
      fail('checkLogMatching', `${node} holds entry ${e.index}@${e.term} with no known predecessor`);
    }
    const digest = entryDigest(e);
    const key = SafetyHistory.entryKey(e.index, e.term);
    const seen = history.loggedEntries.get(key);
    if (seen === undefined) {
      history.loggedEntries.set(key, { digest, prevTerm, node });
      continue;
    }
    if (seen.digest !== digest) {
      fail(
        'checkLogMatching',
        `entry ${e.index}@${e.term} differs between ${seen.node} and ${node} (digest ${seen.digest} vs ${digest})`,
      );
    }
    if (seen.prevTerm !== prevTerm) {
      fail(
        'checkLogMatching',
        `entry ${e.index}@${e.term} follows term ${seen.prevTerm} at ${e.index - 1} on ${seen.node} but term ${prevTerm} on ${node}`,
      );
    }
  }
}

/**
 * checkLeaderCompleteness (§5.4.3) fails when `node`, leader of `term`, lacks an entry applied
 * anywhere whose commit term is known to be below `term`. Call it right after the leader's
 * `ready()`, when `view` is exactly its log. Commit terms are bounded from above by the lowest
 * term of a node seen applying the entry, so a check is never spurious (it may be skipped for an
 * entry first applied only at high terms). Entries the leader compacted were applied by it and are
 * covered by checkStateMachineSafety. Each leader's scan resumes where its last one stopped.
 */
export function checkLeaderCompleteness(
  history: SafetyHistory,
  node: NodeId,
  incarnation: number,
  term: number,
  view: LogView,
): void {
  const cursor = history.completeness.get(node);
  let from = 1;
  if (cursor !== undefined && cursor.term === term && cursor.incarnation === incarnation)
    from = cursor.scanned + 1;
  const to = history.appliedMax;
  for (let i = Math.max(from, view.snapshotIndex + 1); i <= to; i++) {
    if (history.commitTermBound[i]! >= term) continue;
    const wantTerm = history.appliedTerms[i]!;
    const haveTerm = view.term(i);
    if (haveTerm !== wantTerm || view.digest(i) !== history.appliedDigests[i]) {
      const have = haveTerm === undefined ? `nothing (log ends at ${view.lastIndex()})` : `term ${haveTerm}`;
      fail(
        'checkLeaderCompleteness',
        `${node}, leader of term ${term}, holds ${have} at ${i}, where ${i}@${wantTerm} was committed by term ${history.commitTermBound[i]!}`,
      );
    }
  }
  history.completeness.set(node, { term, incarnation, scanned: Math.max(to, from - 1) });
}

/**
 * checkSnapshotRestore records that `node` (re)started its state machine from a snapshot at
 * `index` with running digest `chain`, and fails when that state is not the applied sequence's
 * state at `index` (a snapshot of someone else's history or a corrupted one).
 */
export function checkSnapshotRestore(
  history: SafetyHistory,
  node: NodeId,
  index: number,
  term: number,
  chain: number,
): void {
  if (index > history.appliedMax) {
    fail(
      'checkStateMachineSafety',
      `${node} restored a snapshot at ${index}, beyond anything applied (${history.appliedMax})`,
    );
  }
  if (history.appliedTerms[index] !== term || history.chains[index] !== chain) {
    fail(
      'checkStateMachineSafety',
      `${node} restored a snapshot at ${index}@${term} whose state differs from the applied sequence (${index}@${history.appliedTerms[index]!})`,
    );
  }
  history.nodeApplied.set(node, index);
}

/**
 * checkStateMachineSafety (§5.4.3, State Machine Safety) records that `node`, at term
 * `nodeTerm`, applied `entry`, and fails when the node skipped or repeated an index, or when any
 * node ever applied a different entry at that index (across restarts: the history is global).
 * It returns true when this is the first time any node applied the index.
 */
export function checkStateMachineSafety(
  history: SafetyHistory,
  node: NodeId,
  entry: Entry,
  nodeTerm: number,
): boolean {
  const { index, term } = entry;
  const last = history.nodeApplied.get(node) ?? 0;
  if (index !== last + 1) {
    fail(
      'checkStateMachineSafety',
      `${node} applied ${index}@${term} after ${last} (not exactly once, in order)`,
    );
  }
  history.nodeApplied.set(node, index);
  const digest = entryDigest(entry);
  if (index <= history.appliedMax) {
    if (history.appliedTerms[index] !== term || history.appliedDigests[index] !== digest) {
      fail(
        'checkStateMachineSafety',
        `${node} applied ${index}@${term} but ${index}@${history.appliedTerms[index]!} was applied before (digest ${history.appliedDigests[index]!} vs ${digest})`,
      );
    }
    history.commitTermBound[index] = Math.min(history.commitTermBound[index]!, nodeTerm);
    return false;
  }
  if (index !== history.appliedMax + 1) {
    fail(
      'checkStateMachineSafety',
      `${node} applied ${index} while nothing applied ${history.appliedMax + 1}`,
    );
  }
  history.appliedTerms.push(term);
  history.appliedDigests.push(digest);
  history.chains.push(chainDigest(history.chains[index - 1]!, index, term, digest));
  history.commitTermBound.push(nodeTerm);
  history.votersAt.push(
    entry.kind === 'config' ? entry.membership.voters.length : history.votersAt[index - 1]!,
  );
  return true;
}

/**
 * checkCommittedDurable fails when an entry applied for the first time is durable on too few
 * nodes to have been committed. With single-server changes the committing configuration differs
 * from the one as of the entry by at most one voter, so at least ⌊(V−1)/2⌋+1 durable holders are
 * required, V being the voter count as of the entry. A node whose snapshot covers the index holds it.
 */
export function checkCommittedDurable(
  history: SafetyHistory,
  index: number,
  logs: Iterable<readonly [NodeId, DurableLogReader]>,
): void {
  const term = history.appliedTerms[index];
  const voters = history.votersAt[index];
  if (term === undefined || voters === undefined) {
    fail('checkCommittedDurable', `index ${index} was never applied`);
  }
  const need = Math.floor((voters - 1) / 2) + 1;
  const holders: NodeId[] = [];
  for (const [node, log] of logs) {
    if (log.firstIndex() > index || log.term(index) === term) holders.push(node);
  }
  if (holders.length < need) {
    fail(
      'checkCommittedDurable',
      `${index}@${term} was applied but is durable only on [${holders.join(', ')}], fewer than ${need} of ${voters} voters`,
    );
  }
}

/**
 * checkProposalAccepted records a proposal a leader accepted at (index, term). When that index
 * is already applied the proposal has failed at once (a deposed leader that does not know it yet
 * may append there), unless the applied entry has the same term (two entries at one (index, term))
 * or was committed in a term below the proposal's (the leader lacks a committed entry, §5.4.3):
 * both are violations.
 */
export function checkProposalAccepted(history: SafetyHistory, proposal: ProposalRecord): void {
  history.proposals.set(proposal.id, proposal);
  if (proposal.index <= history.appliedMax) {
    const appliedTerm = history.appliedTerms[proposal.index]!;
    const committedBy = history.commitTermBound[proposal.index]!;
    if (appliedTerm === proposal.term || committedBy < proposal.term) {
      fail(
        'checkProposalOutcome',
        `${proposal.node} accepted proposal ${proposal.id} at ${proposal.index}@${proposal.term}, but ${proposal.index}@${appliedTerm} is already applied (committed by term ${committedBy})`,
      );
    }
    proposal.outcome = 'failed';
    return;
  }
  const list = history.proposalsAt.get(proposal.index);
  if (list === undefined) history.proposalsAt.set(proposal.index, [proposal]);
  else list.push(proposal);
}

/**
 * checkProposalOutcome settles the proposals pending at an index that was just applied for the
 * first time: one whose term matches must find its own entry there (committed), any other failed.
 * It fails when a proposal would resolve with someone else's entry.
 */
export function checkProposalOutcome(history: SafetyHistory, entry: Entry): void {
  const pending = history.proposalsAt.get(entry.index);
  if (pending === undefined) return;
  history.proposalsAt.delete(entry.index);
  const digest = entryDigest(entry);
  for (const p of pending) {
    if (p.term !== entry.term) {
      p.outcome = 'failed';
    } else if (p.digest === digest) {
      p.outcome = 'committed';
    } else {
      fail(
        'checkProposalOutcome',
        `proposal ${p.id} accepted by ${p.node} at ${p.index}@${p.term} found a different entry of the same term applied there`,
      );
    }
  }
}

/** checkReadIssued records a ReadIndex request `node` accepted, with the highest index applied anywhere at that moment. */
export function checkReadIssued(history: SafetyHistory, node: NodeId, requestId: string): void {
  if (history.reads.has(requestId)) fail('checkReadIndex', `read ${requestId} issued twice`);
  history.reads.set(requestId, {
    requestId,
    node,
    appliedAtIssue: history.appliedMax,
    readIndex: undefined,
    served: false,
  });
}

/**
 * checkReadIndex (§6.4) checks a ReadState: it must answer a request issued at the same node,
 * once, with an index at or above every index applied anywhere before the request was issued
 * (otherwise the read could miss a committed write: not linearizable).
 */
export function checkReadIndex(history: SafetyHistory, node: NodeId, readState: ReadState): void {
  const read = history.reads.get(readState.requestId);
  if (read === undefined) fail('checkReadIndex', `${node} confirmed unknown read ${readState.requestId}`);
  if (read.node !== node)
    fail('checkReadIndex', `${node} confirmed read ${read.requestId} issued at ${read.node}`);
  if (read.readIndex !== undefined) fail('checkReadIndex', `${node} confirmed read ${read.requestId} twice`);
  if (readState.index < read.appliedAtIssue) {
    fail(
      'checkReadIndex',
      `${node} confirmed read ${read.requestId} at index ${readState.index}, below index ${read.appliedAtIssue} applied before it was issued`,
    );
  }
  read.readIndex = readState.index;
}

/** checkReadServed checks that a confirmed read is served only once the node applied its read index. */
export function checkReadServed(
  history: SafetyHistory,
  node: NodeId,
  requestId: string,
  appliedIndex: number,
): void {
  const read = history.reads.get(requestId);
  if (read?.readIndex === undefined) fail('checkReadIndex', `${node} served unconfirmed read ${requestId}`);
  if (appliedIndex < read.readIndex) {
    fail(
      'checkReadIndex',
      `${node} served read ${requestId} at applied ${appliedIndex}, below its read index ${read.readIndex}`,
    );
  }
  read.served = true;
}
