/**
 * CampaignClaims keeps, on the node that serves Campaign calls (the Raft leader: followers proxy
 * the call there), which calls wait for each queue place, so that a cancelled call's withdraw
 * cannot remove a place a newer call of the same session waits for.
 *
 * The FSM knows a waiter by scope, candidate id and session id, and a second campaign of that
 * session is answered with the place the first one made (`alreadyWaiting`): the SDK campaigns
 * again in the same session after it gave up on a node that stopped answering, and an
 * application may cancel a campaign and start another. When the first call's cancellation is
 * served after the second call's campaign, its withdraw would take the place both wait for, and
 * the second call would wait for an election that never comes. So:
 *
 * - a call claims its place before it proposes its campaign, and first waits for a withdraw of
 *   that place still in flight (so the log holds the withdraw before the new campaign, which then
 *   queues afresh);
 * - a cancelled call gives up its claim and withdraws only when no other call claims the place:
 *   the last call to leave takes the candidate out of the queue.
 *
 * A campaign without a session id is its own session (a second one is HELD_BY_OTHER_SESSION),
 * so it claims nothing and always withdraws. Claims live in this process only: a withdraw that
 * another node proposed after it lost the leadership cannot commit, and the calls it served end
 * with that node's term.
 */
export class CampaignClaims {
  /** claims counts, per place key, the calls on this node that wait for that place. */
  private readonly claims = new Map<string, number>();
  /** withdrawals holds, per place key, the withdraw in flight (settled: removed). */
  private readonly withdrawals = new Map<string, Promise<void>>();

  /**
   * claim registers one call waiting for the place of `candidateId` in `scope` in `sessionId`
   * (undefined: no session, nothing is claimed) and returns the call's claim. It registers at
   * once, so a cancellation served after it sees the claim.
   */
  claim(scope: string, candidateId: string, sessionId: string | undefined): CampaignClaim {
    const key = sessionId === undefined ? undefined : JSON.stringify([scope, candidateId, sessionId]);
    if (key !== undefined) this.claims.set(key, (this.claims.get(key) ?? 0) + 1);
    let released = false;
    const release = (): void => {
      if (released || key === undefined) return;
      released = true;
      const left = (this.claims.get(key) ?? 1) - 1;
      if (left === 0) this.claims.delete(key);
      else this.claims.set(key, left);
    };
    return {
      ready: () => (key === undefined ? Promise.resolve() : (this.withdrawals.get(key) ?? Promise.resolve())),
      release,
      withdraw: async (propose) => {
        release();
        if (key === undefined) return propose();
        if (this.claims.has(key)) return;
        const withdrawal = propose().finally(() => {
          if (this.withdrawals.get(key) === withdrawal) this.withdrawals.delete(key);
        });
        this.withdrawals.set(key, withdrawal);
        return withdrawal;
      },
    };
  }

  /** claimedPlaces is the number of places some call on this node claims (for tests and leak checks). */
  get claimedPlaces(): number {
    return this.claims.size;
  }
}

/** CampaignClaim is one Campaign call's claim on its queue place (see CampaignClaims). */
export interface CampaignClaim {
  /** ready resolves once no withdraw of this place is in flight any more; call it before proposing the campaign. */
  ready(): Promise<void>;
  /** release gives up the claim without withdrawing (the call was elected or failed); repeat calls do nothing. */
  release(): void;
  /**
   * withdraw gives up the claim and runs `propose` (the withdraw command; it must not reject)
   * unless another call still claims the place, and resolves when it has settled.
   */
  withdraw(propose: () => Promise<void>): Promise<void>;
}
