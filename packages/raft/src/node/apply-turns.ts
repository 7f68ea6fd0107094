/**
 * APPLY_TURN_MS_MAX is how long the node applies committed entries in one event-loop turn before
 * it lets timers and I/O run. A Ready hands out up to messageBytesMax of committed entries; a
 * restarted node catching up gets that much at once, and 1 MiB of lease renewals (30,000 and
 * more) held its loop 200 ms in one turn.
 */
export const APPLY_TURN_MS_MAX = 10;

/**
 * applyInTurns applies `items[from..to)` in order with `apply`, one after another, and yields
 * to the event loop (setImmediate) whenever one turn spent `turnMsMax` or more: an entry is
 * never split, and the order is kept. What fits in the current turn is applied before it
 * returns; when that is all (nothing to apply, or no slicing needed) it returns 1, the turns it
 * took, with no promise, so a caller that awaits only a promise costs no microtask hop. Otherwise
 * it returns a promise that applies the rest in later turns and resolves with the number of
 * turns. It passes on what `apply` throws (thrown in the first turn, a rejection in later ones),
 * applying nothing after it. `nowMs` reads a monotonic clock (injected for tests).
 */
export function applyInTurns<T>(
  items: readonly T[],
  from: number,
  to: number,
  apply: (item: T) => void,
  turnMsMax: number = APPLY_TURN_MS_MAX,
  nowMs: () => number = () => performance.now(),
): number | Promise<number> {
  // One turn: items from `start` on until the turn has spent turnMsMax (at least one item when
  // any is left); it answers the index of the first item it left, `to` when it applied them all.
  const applyTurn = (start: number): number => {
    const turnStarted = nowMs();
    let next = start;
    while (next < to && (next === start || nowMs() - turnStarted < turnMsMax)) {
      apply(items[next]!);
      next++;
    }
    return next;
  };
  const next = applyTurn(from);
  return next < to ? applyRestInTurns(applyTurn, next, to) : 1;
}

/**
 * applyRestInTurns goes on with applyInTurns after its first turn, from `from`: it yields to the
 * event loop before each next `applyTurn` and resolves with the turns taken, the first included.
 */
async function applyRestInTurns(
  applyTurn: (from: number) => number,
  from: number,
  to: number,
): Promise<number> {
  let turns = 1;
  let next = from;
  // Each turn applies at least one item, so this takes at most `to - from` more turns.
  while (next < to) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    turns++;
    next = applyTurn(next);
  }
  return turns;
}
