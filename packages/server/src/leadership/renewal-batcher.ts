import type { LeaseRef, RenewItem } from '@omnirelay/leadership-fsm';
import { leaseListBytesMax } from '@omnirelay/leadership-fsm';
import { chunkLeases } from './lease-batches';

/** Waiting is one caller's leases (a whole KeepAlive request) waiting for a batch. */
interface Waiting {
  readonly leases: readonly LeaseRef[];
  /** held are the leases' Renewables, in order: their keys, and the pending counts taken down once answered. */
  readonly held: readonly Renewable[];
  /** bytes is leaseListBytesMax of `leases`, counted once. */
  readonly bytes: number;
  /** sinceMs is when the caller handed its leases over (the batcher's clock). */
  readonly sinceMs: number;
  /**
   * mayRepeat is true when one of its leases was already queued or in flight when it was handed
   * over (listed twice in it, or by an earlier caller): only then can a batch list a lease twice.
   */
  readonly mayRepeat: boolean;
  readonly resolve: (items: RenewItem[]) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * PendingCount is one lease's entry in RenewalBatcher's pending map: how many callers' renewals
 * of it are queued or in flight (IDLE, SWEPT; GONE once a sweep deleted it). It is an object, not
 * a number in the map, so that a renewal costs no lookup at all: each caller keeps its lease's
 * count in its Renewable (a KeepAlive stream, for as long as it lists the lease) and takes it down
 * when answered. Every lookup in a map of 100,000 leases misses the caches (its table, then the
 * key string to compare): a get and a set when queued and again when answered made the batcher
 * the largest file in a loaded leader's profile (17 s of 230 s in a scale run).
 */
export interface PendingCount {
  count: number;
}

/**
 * Renewable is a lease as a caller hands it to RenewalBatcher: its leaseKey, computed once, and
 * its PendingCount once the batcher found it (kept for the next renewal of the same lease; undefined
 * before, set in the literal so that it is a field of the object, not a property added later).
 */
export interface Renewable {
  readonly key: string;
  pending: PendingCount | undefined;
}

/** leaseKey names a lease (scope and fence) in maps and sets. */
export function leaseKey(lease: LeaseRef): string {
  return `${lease.scope}\u0000${lease.fenceToken.toString()}`;
}

/**
 * answersByKey maps each answer of a batch to its lease's key. The answers normally come in the
 * order the leases were listed, so a listed lease's key (computed once, when it was queued) is
 * reused; an answer out of that order (a batch that was split, a lease refused alone) gets its key
 * computed. A renew entry answers thousands of leases, and a key costs a decimal fence string.
 */
function answersByKey(
  keys: readonly string[],
  listed: readonly LeaseRef[],
  items: readonly RenewItem[],
): Map<string, RenewItem> {
  const byKey = new Map<string, RenewItem>();
  items.forEach((item, i) => {
    byKey.set(answers(listed[i], item) ? keys[i]! : leaseKey(item), item);
  });
  return byKey;
}

/** answers tells whether `item` is the answer for `lease` (the same scope and fence). */
function answers(lease: LeaseRef | undefined, item: RenewItem): boolean {
  return lease !== undefined && lease.fenceToken === item.fenceToken && lease.scope === item.scope;
}

/** answersInOrder tells whether `items` answer `listed` one for one, in the listed order. */
function answersInOrder(listed: readonly LeaseRef[], items: readonly RenewItem[]): boolean {
  return items.length === listed.length && items.every((item, i) => answers(listed[i], item));
}

/**
 * RENEW_BATCHES_IN_FLIGHT_MAX is how many renew entries a leader keeps in flight at once. With
 * one, renewal throughput was capped at RENEW_BATCH_MAX leases per commit round trip: at 45,000
 * leases on a loaded machine the round trip reached ~0.3 s, renewals queued for seconds while the
 * leader's CPU sat at 29%, and clients' leases lapsed (bench/README.md "scale").
 */
export const RENEW_BATCHES_IN_FLIGHT_MAX = 4;

/** PENDING_SWEEP_MS is how often RenewalBatcher drops the idle entries of its pending map (see `sweep`). */
export const PENDING_SWEEP_MS = 30_000;

/**
 * IDLE is the pending count of a lease with no renewal queued or in flight; SWEPT, of one idle at
 * the last sweep too; GONE, of one a sweep deleted from the map (its holders look the key up again).
 */
const IDLE = 0;
const SWEPT = -1;
const GONE = -2;

/**
 * RenewalBatcher folds renewals into as few replicated entries as possible: at most
 * `inFlightMax` batches are in flight at a time, and every renewal that arrives meanwhile waits
 * for the next free one. So under load, each renew entry lists many leases and a renewal never
 * costs a disk write of its own, while several entries in flight keep the pipeline full when the
 * commit round trip is long. A caller hands over all the leases of one request at once and gets
 * one answer per lease, in its order: the cost per renewal is an array slot, not a promise.
 *
 * A batch is bounded by count (`batchMax`) and by bytes (`batchBytesMax`, summing
 * leaseRefBytesMax): long scope names must not make the shared entry too large for everyone.
 */
export class RenewalBatcher {
  private queue: Waiting[] = [];
  /** inFlight holds the batches proposed and not answered yet, oldest first. */
  private readonly inFlight = new Set<Waiting[]>();
  /**
   * pending counts, per leaseKey, the callers whose renewal of that lease is queued or in
   * flight. The expiry scheduler asks it about every due lease each round; building a set of
   * every queued lease per round (tens of thousands when renewals queue up under load, every
   * 50 ms while due leases wait for them) was most of a loaded leader's time in the scale run.
   *
   * A count that falls to 0 stays in the map (IDLE) until two sweeps in a row find it idle
   * (see `sweep`): a lease renewed every few seconds then keeps its one entry, and its key, for
   * as long as it lives. Deleting on every answer re-inserted every renewal's key, and the table
   * was rebuilt every few thousand renewals (17% of what a loaded leader promoted in a 60,000-lease
   * scale run, bench/README.md "What survives a scavenge").
   */
  private readonly pending = new Map<string, PendingCount>();
  /** pendingLeases is how many entries of `pending` count at least one caller. */
  private pendingLeases = 0;
  /** lastSweepMs is when `sweep` last ran (the batcher's clock). */
  private lastSweepMs: number;

  constructor(
    private readonly batchMax: number,
    private readonly batchBytesMax: number,
    private readonly proposeBatch: (leases: readonly LeaseRef[]) => Promise<readonly RenewItem[]>,
    /** now is the clock `oldestWaitMs` measures with (monotonic milliseconds). */
    private readonly now: () => number = () => performance.now(),
    /** inFlightMax bounds the batches proposed and not answered yet. */
    private readonly inFlightMax: number = RENEW_BATCHES_IN_FLIGHT_MAX,
  ) {
    this.lastSweepMs = now();
  }

  /** renew queues one lease for the next batch. */
  async renew(lease: LeaseRef): Promise<RenewItem> {
    const [item] = await this.renewMany([lease]);
    return item!;
  }

  /**
   * renewMany queues `leases` for the next batch and answers each, in order. `held` are their
   * Renewables when the caller keeps them (a KeepAlive stream, one per lease it lists): their keys
   * are not computed again, nor their pending counts looked up.
   */
  renewMany(leases: readonly LeaseRef[], held?: readonly Renewable[]): Promise<RenewItem[]> {
    if (leases.length === 0) return Promise.resolve([]);
    const renewables =
      held ?? leases.map((lease): Renewable => ({ key: leaseKey(lease), pending: undefined }));
    const bytes = leaseListBytesMax(leases);
    if (leases.length > this.batchMax || bytes > this.batchBytesMax) {
      // No entry may list more than batchMax leases or batchBytesMax bytes: a longer list goes as several callers.
      const parts = chunkLeases(leases, this.batchMax, this.batchBytesMax);
      if (parts.length > 1) {
        let at = 0;
        return Promise.all(
          parts.map((part) => {
            at += part.length;
            return this.renewMany(part, renewables.slice(at - part.length, at));
          }),
        ).then((answers) => answers.flat());
      }
    }
    let mayRepeat = false;
    for (const renewable of renewables) {
      const pending = this.countOf(renewable);
      if (pending.count <= IDLE) {
        this.pendingLeases++;
        pending.count = 1;
      } else {
        mayRepeat = true;
        pending.count++;
      }
    }
    return new Promise<RenewItem[]>((resolve, reject) => {
      this.queue.push({ leases, held: renewables, bytes, sinceMs: this.now(), mayRepeat, resolve, reject });
      if (this.inFlight.size < this.inFlightMax) queueMicrotask(() => this.flush());
    });
  }

  /** countOf is `renewable`'s PendingCount: the one it keeps while a sweep has not deleted it, else the map's (made when missing). */
  private countOf(renewable: Renewable): PendingCount {
    const kept = renewable.pending;
    if (kept !== undefined && kept.count !== GONE) return kept;
    let pending = this.pending.get(renewable.key);
    if (pending === undefined) {
      pending = { count: IDLE };
      this.pending.set(renewable.key, pending);
    }
    renewable.pending = pending;
    return pending;
  }

  /** isPending says whether a renewal of the lease with this leaseKey is queued or in flight. */
  isPending(key: string): boolean {
    return (this.pending.get(key)?.count ?? IDLE) > IDLE;
  }

  /**
   * oldestWaitMs is how long the oldest renewal not answered yet has waited, 0 when none waits:
   * callers are taken in arrival order, so it is the first caller of a batch in flight or the
   * head of the queue. It is the leader's renewal backlog (RenewalAdmission).
   */
  oldestWaitMs(): number {
    let oldestMs = this.queue[0]?.sinceMs ?? Number.POSITIVE_INFINITY;
    for (const batch of this.inFlight) oldestMs = Math.min(oldestMs, batch[0]!.sinceMs);
    return oldestMs === Number.POSITIVE_INFINITY ? 0 : Math.max(0, this.now() - oldestMs);
  }

  /** pendingCount is the number of distinct leases whose renewal is queued or in flight. */
  get pendingCount(): number {
    return this.pendingLeases;
  }

  /** settled forgets `w`'s leases as pending (its batch was answered or failed). */
  private settled(w: Waiting): void {
    for (const { pending } of w.held) {
      if (pending === undefined || pending.count <= IDLE) continue; // never so: a lease in flight is counted and not swept
      pending.count--;
      if (pending.count === IDLE) this.pendingLeases--;
    }
    if (this.now() - this.lastSweepMs >= PENDING_SWEEP_MS) this.sweep();
  }

  /**
   * sweep runs every PENDING_SWEEP_MS, from `settled`: it deletes the entries idle since the sweep
   * before (no renewal of that lease for at least one sweep interval) and marks those idle now.
   * So the map holds the leases renewed within the last two intervals, not every lease ever renewed.
   */
  private sweep(): void {
    this.lastSweepMs = this.now();
    for (const [key, pending] of this.pending) {
      if (pending.count === SWEPT) {
        this.pending.delete(key);
        pending.count = GONE;
      } else if (pending.count === IDLE) pending.count = SWEPT;
    }
  }

  /** flush proposes queued batches while fewer than `inFlightMax` are in flight. */
  private flush(): void {
    while (this.inFlight.size < this.inFlightMax && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight.add(batch);
      void this.send(batch);
    }
  }

  /**
   * send proposes one batch and answers each of its callers; a free slot takes the next batch.
   * A lease listed twice in one batch is renewed once; every caller gets its answer. In the usual
   * batch no lease repeats and the entry answers in the listed order: each caller then takes its
   * slice of the answers, with no map of the batch's leases: two map writes and a read per
   * renewal, in maps of up to RENEW_BATCH_MAX entries made for each batch, were a third of the
   * batcher's time on a loaded leader (5 % of its main thread; bench/README.md "Session 24").
   */
  private async send(batch: Waiting[]): Promise<void> {
    try {
      if (!batch.some((w) => w.mayRepeat)) {
        const listed = batch.flatMap((w) => w.leases);
        const items = await this.proposeBatch(listed);
        if (answersInOrder(listed, items)) {
          let at = 0;
          for (const w of batch) {
            w.resolve(items.slice(at, at + w.leases.length));
            at += w.leases.length;
          }
          return;
        }
        this.answerByKey(
          batch,
          listed,
          batch.flatMap((w) => w.held.map((h) => h.key)),
          items,
        );
        return;
      }
      const unique = new Map<string, LeaseRef>();
      for (const w of batch) w.leases.forEach((lease, i) => unique.set(w.held[i]!.key, lease));
      const listed = [...unique.values()];
      this.answerByKey(batch, listed, [...unique.keys()], await this.proposeBatch(listed));
    } catch (e) {
      for (const w of batch) w.reject(e);
    } finally {
      for (const w of batch) this.settled(w);
      this.inFlight.delete(batch);
      this.flush();
    }
  }

  /**
   * answerByKey answers each caller of `batch` with the answers of `items` matched to its leases
   * by key (`listed` and `keys` are what was proposed, in order); a caller whose lease the entry
   * did not answer is rejected.
   */
  private answerByKey(
    batch: readonly Waiting[],
    listed: readonly LeaseRef[],
    keys: readonly string[],
    items: readonly RenewItem[],
  ): void {
    const byKey = answersByKey(keys, listed, items);
    for (const w of batch) {
      const answers: RenewItem[] = [];
      let missing: LeaseRef | undefined;
      w.leases.forEach((lease, i) => {
        const item = byKey.get(w.held[i]!.key);
        if (item === undefined) missing ??= lease;
        else answers.push(item);
      });
      if (missing === undefined) w.resolve(answers);
      else w.reject(new Error(`renew batch did not answer for ${missing.scope}`));
    }
  }

  /**
   * take removes the next batch from the queue: whole callers, in arrival order, up to batchMax
   * leases and batchBytesMax bytes (a single lease larger than that goes alone, to be refused alone).
   */
  private take(): Waiting[] {
    const batch: Waiting[] = [this.queue.shift()!];
    let count = batch[0]!.leases.length;
    let bytes = batch[0]!.bytes;
    for (;;) {
      const next = this.queue[0];
      if (next === undefined) break;
      if (count + next.leases.length > this.batchMax || bytes + next.bytes > this.batchBytesMax) break;
      batch.push(this.queue.shift()!);
      count += next.leases.length;
      bytes += next.bytes;
    }
    return batch;
  }
}
