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
  | { readonly kind: 'budget'; readonly steps: number };

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
 * `budget`. It is exponential in the worst case and linear on histories with little
 * concurrency; check one object (one scope) at a time.
 */
export function searchLinearization<State, Input, Output>(
  model: Model<State, Input, Output>,
  ops: readonly HistoryOperation<Input, Output>[],
  stepBudget: number,
): SearchOutcome {
  const head = buildList(ops);
  const linearized = new Uint32Array(Math.ceil(ops.length / 32) + 1);
  const cache = new Set<string>();
  const calls: { entry: Entry; states: State[] }[] = [];
  let states = dedupe(model, model.init());
  let entry = head.next;
  let steps = 0;
  let longestPrefix: number[] = [];
  let blockedAt = -1;
  const flip = (op: number): void => {
    linearized[op >>> 5] = (linearized[op >>> 5] ?? 0) ^ (1 << (op & 31));
  };
  while (head.next !== null && entry !== null) {
    if (++steps > stepBudget) return { kind: 'budget', steps: stepBudget };
    const op = ops[entry.op]!;
    if (entry.kind === 'call') {
      const next = dedupe(
        model,
        states.flatMap((state) => model.step(state, op.input, op.output)),
      );
      if (next.length > 0) {
        flip(entry.op);
        const key = `${linearized.join(',')}|${next.map((s) => model.key(s)).join(';')}`;
        if (!cache.has(key)) {
          cache.add(key);
          calls.push({ entry, states });
          states = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        flip(entry.op);
      }
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
  }
  return { kind: 'linearizable', steps };
}
