import { RaftNodeError } from './node-error';
import type { NodeId } from '../core/index';

interface PendingProposal {
  readonly term: number;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * PendingProposals holds the promises of proposals this node made as leader, each with its
 * deadline timer, until the entry at its index is applied (it resolves with the state machine's
 * result if that entry is its own, else rejects with PROPOSAL_DROPPED), its timer fires (it
 * rejects with the error `deadlineError` builds: the outcome is unknown), or `rejectAll`.
 */
export class PendingProposals<Result> {
  private readonly byIndex = new Map<number, PendingProposal>();

  constructor(
    /** deadlineError builds the rejection of a proposal whose timer fired (NO_QUORUM or DEADLINE_EXCEEDED). */
    private readonly deadlineError: (timeoutMs: number) => RaftNodeError,
  ) {}

  /** size is the number of proposals waiting. */
  get size(): number {
    return this.byIndex.size;
  }

  /** add waits for the entry the leader appended at (`term`, `index`); it rejects after `timeoutMs`. */
  add(term: number, index: number, timeoutMs: number): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.byIndex.delete(index);
        reject(this.deadlineError(timeoutMs));
      }, timeoutMs);
      this.byIndex.set(index, { term, resolve: resolve as (r: unknown) => void, reject, timer });
    });
  }

  /**
   * applied settles the proposal waiting at `index`: it resolves with `result` if the applied
   * entry is its own (same term), else rejects with PROPOSAL_DROPPED naming `leaderHint`.
   */
  applied(index: number, term: number, result: unknown, leaderHint: NodeId): void {
    const pending = this.byIndex.get(index);
    if (pending === undefined) return;
    this.byIndex.delete(index);
    clearTimeout(pending.timer);
    if (pending.term === term) {
      pending.resolve(result);
    } else {
      pending.reject(
        new RaftNodeError(
          'PROPOSAL_DROPPED',
          `leadership changed before index ${index} committed; the proposal was not applied; retry`,
          leaderHint,
        ),
      );
    }
  }

  /** rejectAll rejects every waiting proposal with `error` (the node stops). */
  rejectAll(error: RaftNodeError): void {
    for (const [index, p] of this.byIndex) {
      this.byIndex.delete(index);
      clearTimeout(p.timer);
      p.reject(error);
    }
  }
}
