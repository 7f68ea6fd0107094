import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import type { Logger } from 'pino';

/** CLOCK_WATCH_INTERVAL_MS is how often the peers' clock offsets are looked at. */
export const CLOCK_WATCH_INTERVAL_MS = 1000;

/**
 * watchClocks logs a warning when a peer's wall clock is estimated further than `skewMsMax` from
 * this node's (PeerLinkStatus.clockOffsetMs), once until it comes back within it (then once at
 * info). Lease time never depends on wall clocks (StampClock); a clock that drifted this far means
 * the skew setting no longer describes the cluster, and SDK margins sized from it are too small.
 * It returns the function that stops it.
 */
export function watchClocks(node: RaftNode<ApplyResult>, skewMsMax: number, logger: Logger): () => void {
  const over = new Set<string>();
  const timer = setInterval(() => {
    for (const [peer, link] of Object.entries(node.status().peers)) {
      const offsetMs = link.clockOffsetMs;
      if (offsetMs === null) continue;
      if (Math.abs(offsetMs) > skewMsMax && !over.has(peer)) {
        over.add(peer);
        logger.warn(
          { peer, clockOffsetMs: offsetMs, skewMsMax },
          `the wall clock of ${peer} is about ${offsetMs} ms off this node's, more than --skew-ms-max ` +
            `${skewMsMax}: check NTP on both hosts (lease time does not use wall clocks, but SDK margins ` +
            `are sized from the skew setting)`,
        );
      } else if (Math.abs(offsetMs) <= skewMsMax && over.delete(peer)) {
        logger.info(
          { peer, clockOffsetMs: offsetMs, skewMsMax },
          `the wall clock of ${peer} is within the skew again`,
        );
      }
    }
  }, CLOCK_WATCH_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
