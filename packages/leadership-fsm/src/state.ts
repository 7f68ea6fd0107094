import { assert } from './assert';
import { ClusterTopology } from './cluster-topology';
import { epochOfFence, fenceOf } from './fence';
import type { DeadlineSlot, DueLease } from './deadline-index';
import { DeadlineIndex } from './deadline-index';
import { LeadershipError } from './errors';
import type { HolderChangeReason, LeadershipEvent } from './events';
import type { Lease } from './lease';
import { leaseView } from './lease';
import { SCOPE_COUNT_MAX } from './limits';
import type { Waiter } from './queue';
import { WaitQueue } from './queue';

/**
 * ScopeRecord is everything the state machine knows about one scope. A record is created by the
 * first command that grants or queues in the scope and is kept when the scope falls vacant, so
 * `scopeTerm` and `lastFenceToken` never go back (at most SCOPE_COUNT_MAX records).
 */
export interface ScopeRecord {
  readonly name: string;
  /** holder is the current lease, or null when vacant. Invariant: vacant ⇒ the queue is empty. */
  holder: Lease | null;
  /** scopeTerm counts the scope's holder changes (grants, resignations, expiries, step-downs). */
  scopeTerm: number;
  /** revision is the entry index of the scope's last holder change (its last event), 0 if none. */
  revision: number;
  /** lastFenceToken is the fence of the latest grant in this scope; each new grant must exceed it. */
  lastFenceToken: bigint;
  /** queue holds the waiting candidates in promotion order. */
  readonly queue: WaitQueue;
  /**
   * deadlineSlot is the scope's slot in the deadline index as its last push returned it (undefined
   * before any), handed back to the next push so that a renewal looks its scope up once, not twice.
   * Derived, never in a snapshot; a slot that left the index since is looked up again.
   */
  deadlineSlot: DeadlineSlot | undefined;
}

/**
 * EntryContext is what a command handler knows of the entry it applies: its index (the fence of
 * any grant it makes), Raft term, the state machine's time (the entry's stamp, clamped so it
 * never goes back), proposer, correlation id, and the list its events go to.
 */
export interface EntryContext {
  readonly index: number;
  readonly raftTerm: number;
  readonly stampMs: number;
  readonly proposerId: string;
  /** principal is the authenticated caller of the request the entry carries ('' when none). */
  readonly principal: string;
  readonly correlationId: string;
  readonly events: LeadershipEvent[];
}

/**
 * ChangeObserver hears of every scope record just before it changes (a pending snapshot
 * capture keeps the record as it was).
 */
export interface ChangeObserver {
  beforeChange(record: ScopeRecord): void;
}

/**
 * FsmState is the mutable state of the leadership state machine and the few operations that
 * keep its invariants together (holder changes, counts, the deadline index). Command handlers
 * validate everything first and only then call these, so a refused command changes nothing.
 */
export class FsmState {
  readonly scopes = new Map<string, ScopeRecord>();
  lastAppliedIndex = 0;
  lastAppliedTerm = 0;
  clockMs = 0;
  waitingCount = 0;
  /**
   * lastEventRevision is the revision of the last holder change (0 before any): what a passive
   * mirror must reach to hold everything this cluster granted. Derived: rebuilt on restore as the
   * highest scope revision, never in a snapshot.
   */
  lastEventRevision = 0;
  readonly deadlines = new DeadlineIndex();
  /** cluster is the cross-cluster state: descriptors, failover epoch, the passive mirror. */
  cluster = new ClusterTopology();
  /** sortedNames is every scope name in byte order as of the last sortedScopeNames call. */
  private sortedNames: readonly string[] = [];
  /** newNames are the scopes created since, unsorted: the next call sorts only them and merges. */
  private newNames: string[] = [];
  /** observers hear of every record change before it happens (see beforeChange). */
  private readonly observers = new Set<ChangeObserver>();
  /**
   * held are the records that have a holder (only `recordHolderChange` and `restoreScope` change
   * it). A record stays in `scopes` once its scope falls vacant, so walking `scopes` for the live
   * leases costs every scope ever used: a grace at each leader change walked ~80,000 vacant
   * records on every replica after `compare`'s cycles (2.4–2.7 ms cold, 8–10 ms at 300,000),
   * just as the new leader's first writes wait to apply behind it; `compare` (d) 27.7 → 21.1 ms
   * at the median (bench/README.md "Session 32").
   */
  private readonly held = new Set<ScopeRecord>();

  /** leaseCount is the number of scopes with a holder. */
  get leaseCount(): number {
    return this.held.size;
  }

  /** heldRecords are the records with a holder, in no order the state machine's answers depend on. */
  heldRecords(): IterableIterator<ScopeRecord> {
    return this.held.values();
  }

  /** isLive tells whether a deadline-index entry still matches a holder's fence and deadline. */
  readonly isLive = (entry: DueLease): boolean => {
    const holder = this.scopes.get(entry.scope)?.holder;
    return (
      holder !== undefined &&
      holder !== null &&
      holder.fenceToken === entry.fenceToken &&
      holder.deadlineMs === entry.deadlineMs
    );
  };

  /**
   * createScope adds an empty record for `name`. It throws SCOPE_LIMIT_REACHED at SCOPE_COUNT_MAX,
   * so a handler calls it before any other change.
   */
  createScope(name: string): ScopeRecord {
    assert(!this.scopes.has(name), () => `scope ${name} created twice`);
    if (this.scopes.size >= SCOPE_COUNT_MAX) {
      throw new LeadershipError(
        'SCOPE_LIMIT_REACHED',
        `the state machine already keeps ${SCOPE_COUNT_MAX} scopes; no new scope can be created`,
        { scope: name, limit: SCOPE_COUNT_MAX },
      );
    }
    const record: ScopeRecord = {
      name,
      holder: null,
      scopeTerm: 0,
      revision: 0,
      lastFenceToken: 0n,
      queue: new WaitQueue(),
      deadlineSlot: undefined,
    };
    this.scopes.set(name, record);
    this.newNames.push(name);
    return record;
  }

  /**
   * restoreScope puts one record read from a snapshot into a state being restored, after the
   * records before it in sorted name order, counts its lease and waiters and indexes the lease's
   * deadline. The state is not
   * usable until `finishRestore`; a restore may put its records in over several event-loop turns.
   */
  restoreScope(record: ScopeRecord): void {
    this.scopes.set(record.name, record);
    this.newNames.push(record.name);
    this.lastEventRevision = Math.max(this.lastEventRevision, record.revision);
    this.waitingCount += record.queue.length;
    if (record.holder !== null) {
      this.held.add(record);
      // Pushed one at a time, not heapified at the end: the index grows with each slice, so no
      // single turn builds all of it (a rebuild of 100,000 took the last slice 100 ms and more).
      this.indexDeadline(record, record.holder);
    }
  }

  /**
   * finishRestore ends a restore: the records put in by `restoreScope` (in sorted name order,
   * each once: asserted by count) become the sorted name index.
   */
  finishRestore(): void {
    assert(this.scopes.size === this.newNames.length, () => `a snapshot scope appears twice`);
    this.sortedNames = this.newNames;
    this.newNames = [];
  }

  /**
   * sortedScopeNames returns every scope name in byte order. The array is cached and never
   * changed: after scopes were created, a new one merges the sorted new names into it, in
   * O(n + k log k) rather than a full O(n log n) sort (100,000 names took 100 ms and more). That
   * is still one turn of 60–90 ms at 100,000 names with 30,000 new, so a snapshot capture does
   * not call it (see scopeNamesToCapture).
   */
  sortedScopeNames(): readonly string[] {
    if (this.newNames.length > 0) {
      this.sortedNames = mergeSorted(this.sortedNames, this.newNames.sort());
      this.newNames = [];
    }
    return this.sortedNames;
  }

  /**
   * scopeNamesToCapture hands a snapshot capture the scope names without sorting them now: the
   * sorted array as of the last sort (never changed afterwards) and a copy of the names created
   * since, unsorted, in O(k) for k such names. The capture sorts and merges them a slice at a time
   * and gives the result back with `adoptSortedNames`.
   */
  scopeNamesToCapture(): { readonly sorted: readonly string[]; readonly added: readonly string[] } {
    return { sorted: this.sortedNames, added: this.newNames.slice() };
  }

  /**
   * adoptSortedNames makes `names` the sorted name index: the names of `sorted` and the first
   * `addedCount` names created after it, in byte order, as a capture merged them from what
   * `scopeNamesToCapture` handed it. Nothing changes when the index was sorted again meanwhile
   * (`sorted` is no longer the index), so the next sort does not redo the capture's work.
   */
  adoptSortedNames(sorted: readonly string[], addedCount: number, names: readonly string[]): void {
    if (sorted !== this.sortedNames || addedCount === 0) return;
    assert(
      addedCount <= this.newNames.length && names.length === sorted.length + addedCount,
      () =>
        `adopting ${names.length} sorted names for ${sorted.length} + ${addedCount} of ${this.newNames.length} new`,
    );
    this.sortedNames = names;
    this.newNames = this.newNames.slice(addedCount);
  }

  /** observe makes `observer` hear of every record change from now on, until `unobserve`. */
  observe(observer: ChangeObserver): void {
    this.observers.add(observer);
  }

  /** unobserve stops `observer` hearing of changes. */
  unobserve(observer: ChangeObserver): void {
    this.observers.delete(observer);
  }

  /**
   * beforeChange must be called before anything `record` holds changes: its holder or the
   * holder's lease, its term, revision or last fence, or its queue. A pending snapshot capture
   * keeps the record as it was, so the capture stays exactly the state at its index. A record
   * created after a capture needs no call for it (the capture does not list it).
   */
  beforeChange(record: ScopeRecord): void {
    // Most of the time no capture is pending: no iterator for every renewed lease.
    if (this.observers.size === 0) return;
    for (const observer of this.observers) observer.beforeChange(record);
  }

  /**
   * trackDeadline records the lease's current deadline in the index, compacting it when mostly
   * stale. The lease must already be its scope's holder: a compaction rebuilds the index from the
   * holders, so a lease not yet installed would be dropped and never expire.
   */
  trackDeadline(record: ScopeRecord, lease: Lease): void {
    this.indexDeadline(record, lease);
    if (this.deadlines.size > 2 * this.leaseCount + 1024) this.reindexDeadlines();
  }

  /** indexDeadline pushes the lease's deadline into the index through the record's kept slot, and keeps the slot. */
  private indexDeadline(record: ScopeRecord, lease: Lease): void {
    record.deadlineSlot = this.deadlines.pushAt(
      record.name,
      lease.fenceToken,
      lease.deadlineMs,
      record.deadlineSlot,
    );
  }

  /**
   * reindexDeadlines rebuilds the deadline index from the holders in one O(n) pass, dropping
   * every stale slot: the compaction `trackDeadline` runs when most slots are stale.
   */
  reindexDeadlines(): void {
    const live: DueLease[] = [];
    for (const { name, holder } of this.held) {
      live.push({ scope: name, fenceToken: holder!.fenceToken, deadlineMs: holder!.deadlineMs });
    }
    this.deadlines.rebuild(live);
  }

  /**
   * newLease makes the lease a grant by entry `ctx` gives `candidateId` in client session
   * `sessionId` ('' for none): fence = fenceOf(failover epoch, index), deadline = stamp + TTL.
   * Only an active cluster grants (asserted: every grant path calls refuseUnlessGranting first).
   */
  newLease(
    candidateId: string,
    sessionId: string,
    metadata: string,
    leaseTtlMs: number,
    ctx: EntryContext,
  ): Lease {
    assert(
      this.cluster.state === 'active',
      () => `a grant at ${ctx.index} in a ${this.cluster.state} cluster`,
    );
    return {
      candidateId,
      sessionId,
      metadata,
      fenceToken: fenceOf(this.cluster.epoch, ctx.index),
      leaseTtlMs,
      grantedStampMs: ctx.stampMs,
      lastRenewalStampMs: ctx.stampMs,
      deadlineMs: ctx.stampMs + leaseTtlMs,
    };
  }

  /** leaseFromWaiter makes the lease a promoted waiter gets, on the terms it campaigned with. */
  leaseFromWaiter(waiter: Waiter, ctx: EntryContext): Lease {
    return this.newLease(waiter.candidateId, waiter.sessionId, waiter.metadata, waiter.leaseTtlMs, ctx);
  }

  /**
   * removeWaiter takes `candidateId` out of the record's queue, keeping the count; undefined if
   * absent, or if `sessionId` is given and the waiter campaigned in another session.
   */
  removeWaiter(record: ScopeRecord, candidateId: string, sessionId?: string): Waiter | undefined {
    if (sessionId !== undefined && record.queue.get(candidateId)?.sessionId !== sessionId) {
      return undefined;
    }
    this.beforeChange(record);
    const waiter = record.queue.remove(candidateId);
    if (waiter !== undefined) {
      this.waitingCount--;
    }
    return waiter;
  }

  /**
   * changeHolder makes `next` the holder of `record` (null: vacant), counts the change in the
   * scope's term, and appends the event. It asserts the invariants: the new fence is the entry's
   * index in the cluster's failover epoch and above every earlier fence, and a vacant scope has
   * no waiters.
   */
  changeHolder(record: ScopeRecord, next: Lease | null, reason: HolderChangeReason, ctx: EntryContext): void {
    this.beforeChange(record);
    const previous = record.holder;
    assert(previous !== null || next !== null, () => `scope ${record.name}: a change from vacant to vacant`);
    if (next !== null) {
      assert(
        next.fenceToken === fenceOf(this.cluster.epoch, ctx.index) && next.fenceToken > record.lastFenceToken,
        () =>
          `scope ${record.name}: fence(${next.fenceToken}) not above last fence(${record.lastFenceToken}) at index ${ctx.index}`,
      );
      record.lastFenceToken = next.fenceToken;
    } else {
      assert(
        record.queue.length === 0,
        () => `scope ${record.name} vacant with ${record.queue.length} waiting`,
      );
    }
    this.recordHolderChange(record, previous, next, reason, ctx);
    // Only now: a push that compacts the index rebuilds it from the holders, this one included.
    if (next !== null) this.trackDeadline(record, next);
  }

  /**
   * inheritLease makes `lease`, a holder the old active cluster granted (mirrored before this
   * cluster's promotion), the holder of the vacant `record` with reason `granted`: its fence is
   * the old active's (an epoch below this cluster's, so it is recognised as inherited) and the
   * record's last fence becomes at least `lastFenceToken`, the old active's last fence in the
   * scope. Asserted: the scope is vacant with no waiters, and the fence is above every fence this
   * cluster knew in the scope (fences per scope still strictly increase in the event stream).
   */
  inheritLease(record: ScopeRecord, lease: Lease, lastFenceToken: bigint, ctx: EntryContext): void {
    assert(
      record.holder === null && record.queue.length === 0,
      () => `scope ${record.name}: inheriting a lease into a held scope or one with waiters`,
    );
    assert(
      epochOfFence(lease.fenceToken) < this.cluster.epoch &&
        lease.fenceToken > record.lastFenceToken &&
        lastFenceToken >= lease.fenceToken,
      () =>
        `scope ${record.name}: inherited fence(${lease.fenceToken}) not below epoch ${this.cluster.epoch}, or not above last fence(${record.lastFenceToken}), or above the old active's last fence(${lastFenceToken})`,
    );
    this.beforeChange(record);
    record.lastFenceToken = lastFenceToken;
    this.recordHolderChange(record, null, lease, 'granted', ctx);
    this.trackDeadline(record, lease);
  }

  /**
   * isInherited tells whether `lease` was inherited from the old active cluster at a promotion
   * (its fence's epoch is below this cluster's): it is not renewed here and ends at its deadline.
   */
  isInherited(lease: Lease): boolean {
    // Epoch 0 (every cluster that never failed over) inherits nothing: no BigInt shift per renewal.
    const epoch = this.cluster.epoch;
    return epoch > 0 && epochOfFence(lease.fenceToken) < epoch;
  }

  /** recordHolderChange sets the record's holder, counts the change and appends its event. */
  private recordHolderChange(
    record: ScopeRecord,
    previous: Lease | null,
    next: Lease | null,
    reason: HolderChangeReason,
    ctx: EntryContext,
  ): void {
    record.holder = next;
    if (next === null) this.held.delete(record);
    else if (previous === null) this.held.add(record);
    record.scopeTerm++;
    record.revision = ctx.index;
    this.lastEventRevision = ctx.index;
    ctx.events.push({
      revision: ctx.index,
      scope: record.name,
      scopeTerm: record.scopeTerm,
      reason,
      previousHolder:
        previous === null ? null : { candidateId: previous.candidateId, fenceToken: previous.fenceToken },
      holder: next === null ? null : leaseView(record.name, record.scopeTerm, next),
      correlationId: ctx.correlationId,
      raftTerm: ctx.raftTerm,
      proposerId: ctx.proposerId,
      stampMs: ctx.stampMs,
      principal: ctx.principal,
    });
  }

  /**
   * endLease ends the holder's lease for `reason`: the queue's best waiter becomes the holder in
   * the same change, or the scope falls vacant. It returns the new holder's lease or null.
   */
  endLease(record: ScopeRecord, reason: HolderChangeReason, ctx: EntryContext): Lease | null {
    assert(record.holder !== null, () => `scope ${record.name}: ending the lease of no holder`);
    this.beforeChange(record);
    const waiter = record.queue.shift();
    let next: Lease | null = null;
    if (waiter !== undefined) {
      this.waitingCount--;
      next = this.leaseFromWaiter(waiter, ctx);
    }
    this.changeHolder(record, next, reason, ctx);
    return next;
  }
}

/** mergeSorted merges two arrays sorted in byte order (with no name in both) into a new one. */
function mergeSorted(a: readonly string[], b: readonly string[]): string[] {
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! < b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}
