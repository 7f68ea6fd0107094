/**
 * The keep-alive schedule of the scale bench's etcd lease workers: every lease renewed once per
 * interval from its grant (clientv3's TTL / 3), with a bounded number of keep-alives in flight. A
 * keep-alive that fails (a deadline, a broken stream) is tried again after RETRY_MS, as clientv3
 * keeps sending until the lease is gone; a lease etcd answers is gone counts as lost and is dropped.
 */
import { EtcdLeaseGoneError } from '../compare/etcd-target';
import { sleep } from '../compare/time';

/** RENEW_TICK_MS is how often the loop looks for due leases. */
const RENEW_TICK_MS = 5;
/** RETRY_MS is the pause before a failed keep-alive is sent again. */
const RETRY_MS = 500;
/** RENEWAL_SAMPLES_MAX bounds the renewal latencies one loop keeps (a ring past it). */
const RENEWAL_SAMPLES_MAX = 200_000;
/** QUEUE_COMPACT_AT is how many spent entries a queue holds before it drops them. */
const QUEUE_COMPACT_AT = 65_536;

/** EtcdLease is one lease a worker keeps alive: its id and the index of the stream that carries its keep-alives. */
export interface EtcdLease {
  readonly id: string;
  readonly stream: number;
}

/** KeepAliveFigures is what a loop counted; `since measure` figures restart at measure(). */
export interface KeepAliveFigures {
  /** renewalMs are the keep-alive latencies (sent → answered) since measure. */
  readonly renewalMs: readonly number[];
  /** renewed counts keep-alives answered with a TTL since measure. */
  readonly renewed: number;
  /** failed counts keep-alives that failed (deadline, stream broken) over the whole run; failedInWindow since measure. */
  readonly failed: number;
  readonly failedInWindow: number;
  /** lost counts leases etcd answered were gone (over the whole run); they are no longer renewed. */
  readonly lost: number;
  /** lagMsMax is how late, at worst, a keep-alive went out after it was due (since measure). */
  readonly lagMsMax: number;
}

interface Due {
  readonly lease: EtcdLease;
  readonly dueAt: number;
}

/**
 * DueQueue is a FIFO of leases by due time. Entries go in nearly in due order (one interval for
 * all), so the loop takes from the head while it is due.
 */
class DueQueue {
  private items: Due[] = [];
  private head = 0;

  push(due: Due): void {
    this.items.push(due);
  }

  peek(): Due | undefined {
    return this.items[this.head];
  }

  shift(): Due | undefined {
    const due = this.items[this.head];
    if (due === undefined) return undefined;
    this.head++;
    if (this.head >= QUEUE_COMPACT_AT) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return due;
  }
}

/**
 * KeepAliveLoop sends `renew(lease)` for every lease it is given once per `intervalMs` (from the
 * time given to add(), then from each keep-alive's send), at most `inflightMax` at a time.
 */
export class KeepAliveLoop {
  private readonly scheduled = new DueQueue();
  private readonly retries = new DueQueue();
  private readonly samples = new Float64Array(RENEWAL_SAMPLES_MAX);
  private sampleCount = 0;
  private inflight = 0;
  private stopped = false;
  private renewed = 0;
  private failed = 0;
  private failedInWindow = 0;
  private lost = 0;
  private lagMsMax = 0;
  private readonly done: Promise<void>;

  constructor(
    private readonly intervalMs: number,
    private readonly inflightMax: number,
    private readonly renew: (lease: EtcdLease) => Promise<void>,
  ) {
    this.done = this.run();
  }

  /** add schedules `lease`'s first keep-alive one interval after `grantedAt` (performance.now()). */
  add(lease: EtcdLease, grantedAt: number): void {
    this.scheduled.push({ lease, dueAt: grantedAt + this.intervalMs });
  }

  /** measure forgets the samples, renewals, window failures and lag counted so far. */
  measure(): void {
    this.sampleCount = 0;
    this.renewed = 0;
    this.failedInWindow = 0;
    this.lagMsMax = 0;
  }

  /** figures are the counts so far. */
  figures(): KeepAliveFigures {
    return {
      renewalMs: Array.from(this.samples.subarray(0, Math.min(this.sampleCount, RENEWAL_SAMPLES_MAX))),
      renewed: this.renewed,
      failed: this.failed,
      failedInWindow: this.failedInWindow,
      lost: this.lost,
      lagMsMax: this.lagMsMax,
    };
  }

  /** lostCount is `lost` of figures(), without copying the samples. */
  lostCount(): number {
    return this.lost;
  }

  /** stop sends no more keep-alives; the ones in flight settle when their streams close. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = performance.now();
      // Bounded: each turn sends at most inflightMax keep-alives.
      for (
        let q = this.dueQueue(now);
        q !== undefined && this.inflight < this.inflightMax;
        q = this.dueQueue(now)
      ) {
        const next = q.shift()!;
        this.lagMsMax = Math.max(this.lagMsMax, now - next.dueAt);
        this.send(next.lease);
      }
      await sleep(RENEW_TICK_MS);
    }
  }

  /** dueQueue is the queue whose head is due first, when that head is due by `now`. */
  private dueQueue(now: number): DueQueue | undefined {
    const a = this.scheduled.peek();
    const b = this.retries.peek();
    const queue = b === undefined || (a !== undefined && a.dueAt <= b.dueAt) ? this.scheduled : this.retries;
    const head = queue.peek();
    return head !== undefined && head.dueAt <= now ? queue : undefined;
  }

  private send(lease: EtcdLease): void {
    this.inflight++;
    const sentAt = performance.now();
    this.renew(lease).then(
      () => {
        this.inflight--;
        this.renewed++;
        this.samples[this.sampleCount++ % RENEWAL_SAMPLES_MAX] = performance.now() - sentAt;
        this.scheduled.push({ lease, dueAt: sentAt + this.intervalMs });
      },
      (e: unknown) => {
        this.inflight--;
        if (e instanceof EtcdLeaseGoneError) {
          this.lost++;
          return;
        }
        this.failed++;
        this.failedInWindow++;
        if (!this.stopped) this.retries.push({ lease, dueAt: performance.now() + RETRY_MS });
      },
    );
  }
}
