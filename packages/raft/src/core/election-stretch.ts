/**
 * STRETCH_MEMORY_ELECTIONS is half of how long a silence of the leader is remembered, in
 * election timeouts: a gap is forgotten between one and two of these half-windows after it was
 * seen (10–20 s at the node runtime's 500 ms election timeout).
 */
export const STRETCH_MEMORY_ELECTIONS = 20;

/**
 * STRETCH_TICKS_MAX_ELECTIONS is the default bound on the stretch, in election timeouts: at most
 * three more on top of the randomized timeout (so a follower waits under 5 election timeouts for
 * a leader it recently saw falter, against under 2 otherwise).
 */
export const STRETCH_TICKS_MAX_ELECTIONS = 3;

/**
 * ElectionStretch lengthens a follower's election timeout, and its leader stickiness, while the
 * leader it follows has recently been slow but alive: a leader whose process waited for a core
 * (or paused for GC) for 450 ms, then went on sending, has shown that its silences of that length
 * are not deaths. Without this, a follower whose randomized timeout is shorter than the next such
 * silence deposes a working leader, and on an overloaded cluster each new leader, busy taking over,
 * is deposed the same way (the elections of issue 20's scale runs).
 *
 * A gap is the number of the follower's own ticks between two messages from the same leader in
 * the same term; the follower's ticks do not advance while its own event loop is held, so its own
 * pauses do not count. The stretch is `2·gap − electionTicks` for the longest gap remembered
 * (so the shortest stretched timeout is twice that gap), bounded by `stretchTicksMax`; gaps up to
 * half an election timeout stretch nothing. It changes only *when* a follower campaigns and how
 * long it refuses pre-votes, never how votes are counted; a leader that dies with its connections
 * reset is still replaced at once (`leaderUnreachable` lifts stickiness), and a silent one after
 * at most `2·electionTicks + stretchTicksMax` ticks.
 */
export class ElectionStretch {
  private gapMaxNow = 0;
  private gapMaxBefore = 0;
  private windowElapsed = 0;
  private readonly halfWindowTicks: number;

  constructor(
    private readonly electionTicks: number,
    private readonly stretchTicksMax: number,
  ) {
    this.halfWindowTicks = STRETCH_MEMORY_ELECTIONS * electionTicks;
  }

  /** tick ages the memory by one tick (every role: a gap seen as a follower fades while leading too). */
  tick(): void {
    if (++this.windowElapsed < this.halfWindowTicks) return;
    this.gapMaxBefore = this.gapMaxNow;
    this.gapMaxNow = 0;
    this.windowElapsed = 0;
  }

  /** heardAfter records that the followed leader's latest message came `gapTicks` ticks after its previous one. */
  heardAfter(gapTicks: number): void {
    if (gapTicks > this.gapMaxNow) this.gapMaxNow = gapTicks;
  }

  /** gapTicks is the longest gap remembered. */
  gapTicks(): number {
    return Math.max(this.gapMaxNow, this.gapMaxBefore);
  }

  /** ticks is the stretch now: added to the randomized election timeout and to the stickiness window. */
  ticks(): number {
    const wanted = 2 * this.gapTicks() - this.electionTicks;
    return Math.min(this.stretchTicksMax, Math.max(0, wanted));
  }
}
