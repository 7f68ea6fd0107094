import type { LeaseRef, RenewItem } from '@omnirelay/leadership-fsm';

interface Waiting {
  readonly lease: LeaseRef;
  readonly resolve: (item: RenewItem) => void;
  readonly reject: (e: unknown) => void;
}

/** leaseKey names a lease (scope and fence) in maps and sets. */
export function leaseKey(lease: LeaseRef): string {
  return `${lease.scope}\u0000${lease.fenceToken.toString()}`;
}

/**
 * RenewalBatcher folds renewals into as few replicated entries as possible: one batch is in
 * flight at a time, and every renewal that arrives meanwhile waits for the next one. So under
 * load, each group commit carries one renew entry listing many leases, and a renewal never costs
 * a disk write of its own. Each caller gets the answer for its own lease.
 */
export class RenewalBatcher {
  private queue: Waiting[] = [];
  private inFlight: Waiting[] = [];
  private busy = false;

  constructor(
    private readonly batchMax: number,
    private readonly proposeBatch: (leases: readonly LeaseRef[]) => Promise<readonly RenewItem[]>,
  ) {}

  /** renew queues one lease for the next batch. */
  renew(lease: LeaseRef): Promise<RenewItem> {
    return new Promise<RenewItem>((resolve, reject) => {
      this.queue.push({ lease, resolve, reject });
      if (!this.busy) queueMicrotask(() => void this.flush());
    });
  }

  /** pendingKeys lists the leases queued or in flight (see leaseKey). */
  pendingKeys(): ReadonlySet<string> {
    const keys = new Set<string>();
    for (const w of this.queue) keys.add(leaseKey(w.lease));
    for (const w of this.inFlight) keys.add(leaseKey(w.lease));
    return keys;
  }

  private async flush(): Promise<void> {
    while (!this.busy && this.queue.length > 0) {
      this.busy = true;
      // A lease listed twice in one batch is renewed once; both callers get its answer.
      const batch = this.queue.splice(0, this.batchMax);
      this.inFlight = batch;
      const unique = new Map<string, LeaseRef>();
      for (const w of batch) unique.set(leaseKey(w.lease), w.lease);
      try {
        const items = await this.proposeBatch([...unique.values()]);
        const byKey = new Map<string, RenewItem>();
        for (const item of items) byKey.set(leaseKey(item), item);
        for (const w of batch) {
          const item = byKey.get(leaseKey(w.lease));
          if (item === undefined) w.reject(new Error(`renew batch did not answer for ${w.lease.scope}`));
          else w.resolve(item);
        }
      } catch (e) {
        for (const w of batch) w.reject(e);
      } finally {
        this.inFlight = [];
        this.busy = false;
      }
    }
  }
}
