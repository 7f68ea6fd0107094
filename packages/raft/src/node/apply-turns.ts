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
 * never split, and the order is kept. It resolves with the number of turns it took (1 when it
 * did not yield) and passes on what `apply` throws, applying nothing after it. `nowMs` reads a
 * monotonic clock (injected for tests).
 */
export async function applyInTurns<T>(
  items: readonly T[],
  from: number,
  to: number,
  apply: (item: T) => void,
  turnMsMax: number = APPLY_TURN_MS_MAX,
  nowMs: () => number = () => performance.now(),
): Promise<number> {
  let turns = 1;
  let turnStarted = nowMs();
  for (let i = from; i < to; i++) {
    if (i > from && nowMs() - turnStarted >= turnMsMax) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      turns++;
      turnStarted = nowMs();
    }
    apply(items[i]!);
  }
  return turns;
}
