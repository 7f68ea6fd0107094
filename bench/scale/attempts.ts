/**
 * How the scale bench fills up: every acquire is tried a bounded number of times with a growing
 * pause (an overloaded leader refuses some while 100,000 leases are being granted).
 */

/** ACQUIRE_ATTEMPTS_MAX bounds the attempts at one lease. */
export const ACQUIRE_ATTEMPTS_MAX = 5;
/** ACQUIRE_BACKOFF_MS is the pause before the second attempt; the n-th waits n times as long. */
const ACQUIRE_BACKOFF_MS = 200;

/** withAttempts runs `attempt` until it succeeds (true) or ACQUIRE_ATTEMPTS_MAX attempts failed (false). */
export async function withAttempts(attempt: () => Promise<void>): Promise<boolean> {
  for (let n = 1; ; n++) {
    try {
      await attempt();
      return true;
    } catch {
      if (n >= ACQUIRE_ATTEMPTS_MAX) return false;
      await new Promise((r) => setTimeout(r, ACQUIRE_BACKOFF_MS * n));
    }
  }
}
