import type { LeadershipEvent } from '@omnirelay/leadership-fsm';
import { decodeEvents, encodeEvents } from '@omnirelay/leadership-fsm';
import { Buffer } from 'node:buffer';
import { ServerError } from '../errors/error-table';

/**
 * RevisionEvents are the holder changes one committed entry made, delivered together so that a
 * watcher resuming from `revision + 1` can never miss half of a revision.
 */
export interface RevisionEvents {
  readonly revision: number;
  readonly events: readonly LeadershipEvent[];
}

/** WatchSink receives a watcher's events; it returns false when it cannot keep up (its buffer is full). */
export interface WatchSink {
  deliver(batch: RevisionEvents): boolean;
  /** close ends the watch with a reason a client can act on (undefined: closed by the server's shutdown). */
  close(error: ServerError | undefined): void;
}

/** Watch is one registered watcher; `cancel` removes it. */
export interface Watch {
  cancel(): void;
}

interface Watcher {
  readonly prefix: string;
  readonly sink: WatchSink;
}

/** HISTORY_SHED_MIN is how many dropped revisions the history holds at least before it sheds them. */
const HISTORY_SHED_MIN = 1024;

/**
 * WatchHub fans out holder-change events to watchers filtered by scope prefix, and keeps a
 * bounded history so a watcher can resume from a revision. Revisions older than the history (or
 * than the snapshot this replica restored from) are compacted: resuming there fails with
 * COMPACTED, naming the oldest revision still available. A watcher that
 * cannot keep up is cut off with the revision to resume from, instead of growing a buffer.
 */
export class WatchHub {
  /**
   * The history holds the retained revisions from index `historyHead` on, in parallel arrays:
   * each revision's number, its event count, and its events packed into one string of one byte
   * per character (`pack`: the longest prefix all its scopes share — the scope itself for one
   * event — then a NUL, then encodeEvents' bytes). A watch that resumes unpacks only the
   * revisions its prefix may match; live events go out as published. Kept as objects, the
   * default 100,000 retained events were about ten heap objects each (the event, its lease view,
   * four boxed numbers, the batch, its array, strings that kept the whole decoded entry alive): a
   * third of every node's objects per lease at 100,000 leases, which every major garbage
   * collection marks. A string is one object with nothing in it to mark.
   *
   * Dropping the oldest advances the head, and the arrays shed their dropped front only once that
   * is at least half of them (dropHistoryFront). An Array.shift per dropped revision moved every
   * retained one: at the default 100,000 retained events, one expiry entry of 4,096 leases dropped
   * 4,096 revisions of one acquire each and held the event loop for a quarter of a second (about 4
   * s for 16 such entries), which made more leases expire.
   */
  private historyRevisions: number[] = [];
  private historyCounts: number[] = [];
  private historyPacked: string[] = [];
  private historyHead = 0;
  private historyEvents = 0;
  /** oldestRevision: every event with revision ≥ this is in the history (or was never produced). */
  private oldestRevision = 1;
  /** lastRevision is the newest revision published (or restored to). */
  private lastRevision = 0;
  private readonly watchers = new Set<Watcher>();

  constructor(private readonly historyEventsMax: number) {}

  /** oldestAvailable is the oldest revision a watch can resume from. */
  get oldestAvailable(): number {
    return this.oldestRevision;
  }

  /** currentRevision is the newest revision this replica has seen. */
  get currentRevision(): number {
    return this.lastRevision;
  }

  /** watcherCount is the number of live watchers. */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** publish records the events of one applied entry and delivers them to matching watchers. */
  publish(revision: number, events: readonly LeadershipEvent[]): void {
    this.lastRevision = Math.max(this.lastRevision, revision);
    if (events.length === 0) return;
    const batch: RevisionEvents = { revision, events };
    this.historyRevisions.push(revision);
    this.historyCounts.push(events.length);
    this.historyPacked.push(pack(events));
    this.historyEvents += events.length;
    while (this.historyEvents > this.historyEventsMax && this.historyLength > 1) {
      this.historyEvents -= this.historyCounts[this.historyHead]!;
      this.oldestRevision = this.historyRevisions[this.historyHead]! + 1;
      this.historyHead++;
    }
    this.dropHistoryFront();
    // Watchers of one prefix share one filtered batch: the filter runs once per distinct prefix,
    // and sinks that encode per batch object encode it once for all of them.
    const byPrefix = new Map<string, RevisionEvents>();
    for (const w of [...this.watchers]) this.offer(w, batch, byPrefix);
  }

  /**
   * resetAt forgets the history after the state was replaced by a snapshot at `index`: events up
   * to it are no longer available on this replica.
   */
  resetAt(index: number): void {
    this.historyRevisions = [];
    this.historyCounts = [];
    this.historyPacked = [];
    this.historyHead = 0;
    this.historyEvents = 0;
    this.oldestRevision = index + 1;
    this.lastRevision = Math.max(this.lastRevision, index);
  }

  /**
   * watch registers a watcher of scopes starting with `prefix`. With `fromRevision`, it first
   * replays the retained events with revision ≥ fromRevision; a revision older than the history
   * fails with COMPACTED naming the oldest one available. Without it, only new events come.
   */
  watch(prefix: string, fromRevision: number | undefined, sink: WatchSink): Watch {
    if (
      fromRevision !== undefined &&
      fromRevision < this.oldestRevision &&
      fromRevision <= this.lastRevision
    ) {
      throw new ServerError(
        'COMPACTED',
        `revision ${fromRevision} is compacted on this node; the oldest available is ${this.oldestRevision}. ` +
          `Resume from ${this.oldestRevision} (events in between are lost to this watcher), or list the current leaders first.`,
        { oldestRevision: this.oldestRevision },
      );
    }
    const watcher: Watcher = { prefix, sink };
    if (fromRevision !== undefined) {
      for (let i = this.firstAtOrAfter(fromRevision); i < this.historyRevisions.length; i++) {
        const packed = this.historyPacked[i]!;
        if (!mayMatch(packed, prefix)) continue;
        if (!this.offer(watcher, { revision: this.historyRevisions[i]!, events: unpack(packed) })) {
          return { cancel: () => undefined };
        }
      }
    }
    this.watchers.add(watcher);
    return { cancel: () => this.watchers.delete(watcher) };
  }

  /**
   * firstAtOrAfter is the index of the first retained revision ≥ `revision` (the history's
   * length when there is none), by binary search: revisions are retained in increasing order.
   * A watch usually starts at the head, and the history can hold 100,000 revisions, so a scan
   * from the oldest cost every one of 1,000 watchers opened at once that many steps.
   */
  private firstAtOrAfter(revision: number): number {
    let low = this.historyHead;
    let high = this.historyRevisions.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.historyRevisions[middle]! < revision) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * dropHistoryFront releases the dropped revisions before `historyHead` once they are at least
   * half of the array (and HISTORY_SHED_MIN): one copy of the retained half per that many drops,
   * so each dropped revision costs O(1) amortized.
   */
  private dropHistoryFront(): void {
    const head = this.historyHead;
    if (head < HISTORY_SHED_MIN || head * 2 < this.historyRevisions.length) return;
    this.historyRevisions = this.historyRevisions.slice(head);
    this.historyCounts = this.historyCounts.slice(head);
    this.historyPacked = this.historyPacked.slice(head);
    this.historyHead = 0;
  }

  /** historyLength is the number of revisions retained. */
  get historyLength(): number {
    return this.historyRevisions.length - this.historyHead;
  }

  /** closeAll ends every watch (server shutdown). */
  closeAll(): void {
    for (const w of this.watchers) w.sink.close(undefined);
    this.watchers.clear();
  }

  /**
   * offer delivers a batch (filtered) to one watcher; a watcher that cannot take it is cut off.
   * `byPrefix` caches the batch filtered for each prefix seen so far in this revision.
   */
  private offer(
    watcher: Watcher,
    batch: RevisionEvents,
    byPrefix: Map<string, RevisionEvents> = new Map(),
  ): boolean {
    let filtered = byPrefix.get(watcher.prefix);
    if (filtered === undefined) {
      filtered = filterBatch(batch, watcher.prefix);
      byPrefix.set(watcher.prefix, filtered);
    }
    if (filtered.events.length === 0) return true;
    if (watcher.sink.deliver(filtered)) return true;
    this.watchers.delete(watcher);
    watcher.sink.close(
      new ServerError(
        'BACKPRESSURE',
        `watcher cut off: it fell too far behind at revision ${batch.revision}; resume with fromRevision ${batch.revision}`,
        { resumeRevision: batch.revision },
      ),
    );
    return false;
  }
}

/**
 * pack is one revision's `events` as the history keeps them: the longest prefix all their scopes
 * share (scope names are ASCII without NUL: one byte per character), a NUL, and encodeEvents'
 * bytes, as one string of one byte per character (latin1), built from one buffer so that it
 * holds no reference to the events' strings (a decoded entry's strings can be slices of one
 * string of the whole entry, which a kept slice keeps alive).
 */
function pack(events: readonly LeadershipEvent[]): string {
  const first = events[0]!.scope;
  let sharedLength = first.length;
  for (let k = 1; k < events.length && sharedLength > 0; k++) {
    const scope = events[k]!.scope;
    let n = 0;
    while (n < sharedLength && n < scope.length && scope.charCodeAt(n) === first.charCodeAt(n)) n++;
    sharedLength = n;
  }
  const encoded = encodeEvents(events);
  const bytes = Buffer.allocUnsafe(sharedLength + 1 + encoded.byteLength);
  bytes.write(first.slice(0, sharedLength), 0, 'latin1');
  bytes[sharedLength] = 0;
  bytes.set(encoded, sharedLength + 1);
  return bytes.toString('latin1');
}

/** unpack is pack's inverse: the events. */
function unpack(packed: string): LeadershipEvent[] {
  const bytes = Buffer.from(packed, 'latin1');
  return decodeEvents(bytes.subarray(bytes.indexOf(0) + 1));
}

/**
 * mayMatch tells whether a packed revision may hold an event under `prefix`: every scope in it
 * starts with its shared prefix, so unless one of the two prefixes starts with the other, none
 * does (then it is not unpacked). A true answer is only a maybe: the events are filtered after.
 */
function mayMatch(packed: string, prefix: string): boolean {
  const sharedLength = packed.indexOf('\0');
  const n = Math.min(sharedLength, prefix.length);
  for (let k = 0; k < n; k++) if (packed.charCodeAt(k) !== prefix.charCodeAt(k)) return false;
  return true;
}

/**
 * filterBatch is `batch` with only the events of scopes under `prefix`: the batch itself when it
 * keeps them all, so sinks can share its encoding.
 */
function filterBatch(batch: RevisionEvents, prefix: string): RevisionEvents {
  if (prefix === '') return batch;
  const events = batch.events.filter((e) => e.scope.startsWith(prefix));
  return events.length === batch.events.length ? batch : { revision: batch.revision, events };
}
