import type { RaftNode, RaftNodeStatus } from '@omnirelay/raft';

/**
 * StatusSampler reads `node.status()` at most once per scrape. prom-client starts every
 * metric's collect() callback in one synchronous loop, so a sample cached until the next
 * microtask serves all of them with one consistent view (term, commit and lastIndex from the
 * same instant) and costs one status() call per scrape, never one per gauge or per request.
 * After `stop()` it answers undefined and the gauges keep their last values.
 */
export class StatusSampler {
  private cached: RaftNodeStatus | undefined;
  private stopped = false;

  constructor(private readonly node: RaftNode<unknown>) {}

  /** sample returns this scrape's status, or undefined once stopped. */
  sample(): RaftNodeStatus | undefined {
    if (this.stopped) return undefined;
    if (this.cached === undefined) {
      this.cached = this.node.status();
      queueMicrotask(() => {
        this.cached = undefined;
      });
    }
    return this.cached;
  }

  /** stop makes every later sample undefined (the node may be shutting down). */
  stop(): void {
    this.stopped = true;
    this.cached = undefined;
  }
}
