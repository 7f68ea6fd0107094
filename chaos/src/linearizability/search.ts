import type { HistoryOperation, Model } from './model';

/**
 * SearchOutcome is the answer of searchLinearization:
 * - `linearizable`: some order of the operations respects real time and the model;
 * - `illegal`: none does; `longestPrefix` is the longest sequence (operation indices in order)
 *   the search could linearize, and `blockedAt` the operation whose answer it could not reach;
 * - `budget`: the step budget ran out before an answer (`unknown`, never a pass).
 */
export type SearchOutcome =
  | { readonly kind: 'linearizable'; readonly steps: number }
  | {
      readonly kind: 'illegal';
      readonly steps: number;
      readonly longestPrefix: readonly number[];
      readonly blockedAt: number;
    }
  | { readonly kind: 'budget'; readonly steps: number; readonly cacheFull: boolean };

/**
 * SEARCH_CACHE_BYTES_MAX bounds the memo cache (its bitsets and keys, roughly); a search that
 * would grow it further answers `budget`, like one out of steps, rather than exhaust the
 * checker's memory on a long, highly concurrent history.
 */
export const SEARCH_CACHE_BYTES_MAX = 256 * 1024 * 1024;

/**
 * LinearizedSet is the set of linearized operations: a bitset with a Zobrist hash (a random
 * 52-bit code per operation, XORed in and out) kept up to date in O(1) per change, so the cache
 * looks a configuration up by hash and compares bitsets only on a hash match. Operations that
 * never answered and share an `interchangeable` class are counted per class instead of named:
 * the model gives them one effect, so which of them ran does not matter, only how many.
 */
class LinearizedSet {
  readonly bits: Uint32Array;
  private readonly codesLow: Uint32Array;
  private readonly codesHigh: Uint32Array;
  private readonly classOf: readonly (number | undefined)[];
  private readonly classCounts: number[];
  private readonly classSet: boolean[];
  private hashLow = 0;
  private hashHigh = 0;

  constructor(ops: readonly HistoryOperation<unknown, unknown>[]) {
    const size = ops.length;
    this.bits = new Uint32Array(Math.ceil(size / 32) + 1);
    this.codesLow = new Uint32Array(size);
    this.codesHigh = new Uint32Array(size);
    const classes = new Map<string, number>();
    this.classOf = ops.map((op) => {
      if (op.returnNs !== null || op.interchangeable === undefined) return undefined;
      if (!classes.has(op.interchangeable)) classes.set(op.interchangeable, classes.size);
      return classes.get(op.interchangeable);
    });
    this.classCounts = new Array<number>(classes.size).fill(0);
    this.classSet = new Array<boolean>(size).fill(false);
    // A fixed xorshift32 sequence: the same history is searched the same way on every run.
    let x = 0x9e3779b9;
    const next = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    for (let i = 0; i < size; i++) {
      this.codesLow[i] = next();
      this.codesHigh[i] = next() & 0xfffff;
    }
  }

  flip(op: number): void {
    const cls = this.classOf[op];
    if (cls !== undefined) {
      this.classSet[op] = !this.classSet[op];
      this.classCounts[cls] = (this.classCounts[cls] ?? 0) + (this.classSet[op] ? 1 : -1);
      return;
    }
    this.bits[op >>> 5] = (this.bits[op >>> 5] ?? 0) ^ (1 << (op & 31));
    this.hashLow = (this.hashLow ^ (this.codesLow[op] ?? 0)) >>> 0;
    this.hashHigh = this.hashHigh ^ (this.codesHigh[op] ?? 0);
  }

  /** key names the configuration up to bitset equality: the hash and the per-class counts. */
  key(): string {
    const hash = this.hashHigh * 0x100000000 + this.hashLow;
    return this.classCounts.length === 0 ? String(hash) : `${hash}/${this.classCounts.join(',')}`;
  }

  equals(other: Uint32Array): boolean {
    for (let i = 0; i < this.bits.length; i++) if (this.bits[i] !== other[i]) return false;
    return true;
  }
}

interface Entry {
  readonly kind: 'call' | 'return';
  readonly op: number;
  prev: Entry | null;
  next: Entry | null;
  match: Entry | null;
}

function buildList(ops: readonly HistoryOperation<unknown, unknown>[]): Entry {
  const events: { entry: Entry; time: bigint | null }[] = [];
  ops.forEach((op, index) => {
    const call: Entry = { kind: 'call', op: index, prev: null, next: null, match: null };
    const ret: Entry = { kind: 'return', op: index, prev: null, next: null, match: null };
    call.match = ret;
    events.push({ entry: call, time: op.invokeNs }, { entry: ret, time: op.returnNs });
  });
  // By time; a return that never came goes last. On a tie a call sorts before a return, so two
  // operations that touch at one instant count as concurrent (the order that flags less).
  events.sort((a, b) => {
    if (a.time !== b.time) {
      if (a.time === null) return 1;
      if (b.time === null) return -1;
      return a.time < b.time ? -1 : 1;
    }
    if (a.entry.kind !== b.entry.kind) return a.entry.kind === 'call' ? -1 : 1;
    return a.entry.op - b.entry.op;
  });
  const head: Entry = { kind: 'call', op: -1, prev: null, next: null, match: null };
  let last = head;
  for (const { entry } of events) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

/** lift takes a call and its return out of the list (the operation is linearized). */
function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next !== null) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

/** unlift puts them back, in the reverse order of lift. */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== null) call.next.prev = call;
}

function dedupe<State>(model: Model<State, unknown, unknown>, states: readonly State[]): State[] {
  const byKey = new Map<string, State>();
  for (const state of states) byKey.set(model.key(state), state);
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
}

/**
 * searchLinearization decides whether `ops` are linearizable against `model`, with the
 * Wing–Gong search as Lowe and Porcupine refine it: walk the calls in time order, tentatively
 * linearize one whose step the model allows, and backtrack when a return is reached whose call
 * is not linearized yet; a cache of (linearized set, state set) prunes every configuration
 * already explored. Each loop iteration is one step; past `stepBudget` steps the answer is
 * `budget`, and so past SEARCH_CACHE_BYTES_MAX of cache. It is exponential in the worst case and linear on histories with little
 * concurrency; check one object (one scope) at a time.
 */
export function searchLinearization<State, Input, Output>(
  model: Model<State, Input, Output>,
  ops: readonly HistoryOperation<Input, Output>[],
  stepBudget: number,
): SearchOutcome {
  const head = buildList(ops);
  const linearized = new LinearizedSet(ops);
  const cache = new Map<string, Uint32Array[]>();
  const calls: { entry: Entry; states: State[] }[] = [];
  let states = dedupe(model, model.init());
  let entry = head.next;
  let steps = 0;
  let cacheBytes = 0;
  const tried = new Set<string>();
  let longestPrefix: number[] = [];
  let blockedAt = -1;
  const flip = (op: number): void => linearized.flip(op);
  while (head.next !== null && entry !== null) {
    if (++steps > stepBudget) return { kind: 'budget', steps: stepBudget, cacheFull: false };
    const op = ops[entry.op]!;
    if (entry.kind === 'call') {
      // One of a class already tried here stands for all of them: skip the rest of the class.
      const cls = op.returnNs === null ? op.interchangeable : undefined;
      if (cls !== undefined && tried.has(cls)) {
        entry = entry.next;
        continue;
      }
      const next = dedupe(
        model,
        states.flatMap((state) => model.step(state, op.input, op.output)),
      );
      if (next.length > 0) {
        flip(entry.op);
        const key = `${linearized.key()}|${next.map((s) => model.key(s)).join(';')}`;
        const seen = cache.get(key);
        if (seen === undefined || !seen.some((bits) => linearized.equals(bits))) {
          cacheBytes += linearized.bits.byteLength + 2 * key.length;
          if (cacheBytes > SEARCH_CACHE_BYTES_MAX) return { kind: 'budget', steps, cacheFull: true };
          if (seen === undefined) cache.set(key, [linearized.bits.slice()]);
          else seen.push(linearized.bits.slice());
          calls.push({ entry, states });
          states = next;
          lift(entry);
          entry = head.next;
          tried.clear();
          continue;
        }
        flip(entry.op);
      }
      if (cls !== undefined) tried.add(cls);
      entry = entry.next;
      continue;
    }
    // A return whose call is still in the list: this branch cannot linearize that operation
    // in time. Remember the deepest branch for the counterexample, then backtrack.
    if (calls.length >= longestPrefix.length) {
      longestPrefix = calls.map((c) => c.entry.op);
      blockedAt = entry.op;
    }
    const top = calls.pop();
    if (top === undefined) return { kind: 'illegal', steps, longestPrefix, blockedAt };
    states = top.states;
    flip(top.entry.op);
    unlift(top.entry);
    entry = top.entry.next;
    tried.clear();
    const topOp = ops[top.entry.op]!;
    if (topOp.returnNs === null && topOp.interchangeable !== undefined) tried.add(topOp.interchangeable);
  }
  return { kind: 'linearizable', steps };
}
