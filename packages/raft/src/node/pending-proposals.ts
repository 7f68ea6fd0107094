import type { NodeId } from '../core/index';
import { assert } from '../core/index';
import { RaftNodeError } from './node-error';

interface PendingProposal {
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * PendingProposals holds the promises of proposals this node made as leader, each with its
 * deadline timer, keyed by the (term, index) of the entry the leader appended. A proposal
 * settles once: when the entry at its index is applied (it resolves with the state machine's
 * result if that entry is its own, same term; else it rejects with PROPOSAL_DROPPED), when its
 * timer fires (it rejects with the error `deadlineError` builds: the outcome is unknown), or on
 * `rejectAll`.
 *
 * Why (term, index) and not the index alone: after a leadership change truncates a node's
 * uncommitted tail, the node may lead again and append a new entry at an index where one of its
 * older proposals still waits. Keyed by index, the new proposal would overwrite the old one, and
 * the old one's timer would then delete the new one, which would answer DEADLINE_EXCEEDED for a
 * write that committed. A leader appends each index once per term, so (term, index) is unique.
 */
export class PendingProposals<Result> {
  /** byIndex maps an entry index to the proposals waiting for it, by the term they were made in. */
  private readonly byIndex = new Map<number, Map<number, PendingProposal>>();
  private count = 0;

  constructor(
    /** deadlineError builds the rejection of a proposal whose timer fired (NO_QUORUM or DEADLINE_EXCEEDED). */
    private readonly deadlineError: (timeoutMs: number) => RaftNodeError,
  ) {}

  /** size is the number of proposals waiting. */
  get size(): number {
    return this.count;
  }

  /**
   * add waits for the entry the leader appended at (`term`, `index`); it rejects after
   * `timeoutMs`. A second proposal at the same (term, index) is a broken invariant.
   */
  add(term: number, index: number, timeoutMs: number): Promise<Result> {
    let atIndex = this.byIndex.get(index);
    assert(
      atIndex?.has(term) !== true,
      () => `a proposal is already waiting at index ${index} of term ${term}`,
    );
    if (atIndex === undefined) {
      atIndex = new Map();
      this.byIndex.set(index, atIndex);
    }
    const waiting = atIndex;
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Only its own entry: a proposal of another term at this index is not this timer's.
        this.remove(index, term);
        reject(this.deadlineError(timeoutMs));
      }, timeoutMs);
      waiting.set(term, { resolve: resolve as (r: unknown) => void, reject, timer });
      this.count++;
    });
  }

  /**
   * applied settles every proposal waiting at `index`: the one made in `term` (the applied
   * entry's) resolves with `result`; any other was replaced by another leader's entry and
   * rejects with PROPOSAL_DROPPED naming `leaderHint`.
   */
  applied(index: number, term: number, result: unknown, leaderHint: NodeId): void {
    const atIndex = this.byIndex.get(index);
    if (atIndex === undefined) return;
    this.byIndex.delete(index);
    for (const [proposedTerm, pending] of atIndex) {
      this.count--;
      clearTimeout(pending.timer);
      if (proposedTerm === term) {
        pending.resolve(result);
      } else {
        pending.reject(
          new RaftNodeError(
            'PROPOSAL_DROPPED',
            `leadership changed before index ${index} committed (the proposal was made in term ${proposedTerm}, ` +
              `the entry applied there is of term ${term}); the proposal was not applied; retry`,
            leaderHint,
          ),
        );
      }
    }
  }

  /** rejectAll rejects every waiting proposal with `error` (the node stops). */
  rejectAll(error: RaftNodeError): void {
    const all = [...this.byIndex.values()];
    this.byIndex.clear();
    this.count = 0;
    for (const atIndex of all) {
      for (const pending of atIndex.values()) {
        clearTimeout(pending.timer);
        pending.reject(error);
      }
    }
  }

  private remove(index: number, term: number): void {
    const atIndex = this.byIndex.get(index);
    if (atIndex?.delete(term) !== true) return;
    this.count--;
    if (atIndex.size === 0) this.byIndex.delete(index);
  }
}
