import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { Packr } from 'msgpackr';
import {
  LeadershipFsm,
  SNAPSHOT_FORMAT,
  SNAPSHOT_JOIN_BYTES,
  isLeadershipError,
} from '@omnirelay/leadership-fsm';
import { SnapshotCapture } from '../src/snapshot-capture';
import { FsmState } from '../src/state';
import type { RecordedEntry } from './helpers/driver';
import { Driver, replay } from './helpers/driver';
import { logArbitrary, runStep } from './helpers/random-log';

function record(steps: Parameters<typeof runStep>[1][]): RecordedEntry[] {
  const d = new Driver();
  for (const step of steps) {
    runStep(d, step);
  }
  return d.log;
}

const bytes = (b: Uint8Array | undefined): Buffer => Buffer.from(b ?? new Uint8Array(0));

/** acquireAll acquires `count` scopes `s/<i>` with a long TTL, one entry each. */
function acquireAll(d: Driver, count: number): void {
  for (let i = 0; i < count; i++) {
    d.apply({ type: 'acquire', scope: `s/${i}`, candidateId: 'w', metadata: '', leaseTtlMs: 600_000 });
  }
}

/** encodeAll calls encodeSlice until it returns the bytes (at most `slicesMax` calls). */
function encodeAll(fsm: LeadershipFsm, scopesMax: number, slicesMax = 1_000_000): Uint8Array {
  const capture = fsm.captureSnapshot();
  for (let i = 0; i < slicesMax; i++) {
    const out = capture.encodeSlice(scopesMax);
    if (out !== undefined) return out;
  }
  throw new Error(`no snapshot after ${slicesMax} slices`);
}

describe('SnapshotCapture', () => {
  it('writes the bytes of the state at its index while later entries apply between slices', () => {
    fc.assert(
      fc.property(logArbitrary(60), fc.nat(), fc.integer({ min: 1, max: 3 }), (steps, cut, scopesMax) => {
        const log = record(steps);
        const at = cut % (log.length + 1);
        // The twin stops at the capture's index: its snapshot is what the capture must write.
        const expected = replay(log.slice(0, at)).fsm.snapshot();
        const live = replay(log.slice(0, at)).fsm;
        const capture = live.captureSnapshot();
        let out: Uint8Array | undefined;
        for (const entry of log.slice(at)) {
          replay([entry], live);
          out ??= capture.encodeSlice(scopesMax);
        }
        for (let i = 0; i < 10 && out === undefined; i++) out = capture.encodeSlice(scopesMax);
        expect(bytes(out)).toEqual(bytes(expected));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps renewals, expiries, grace and new scopes after the capture out of its bytes', () => {
    const d = new Driver();
    acquireAll(d, 40);
    d.apply({
      type: 'campaign',
      scope: 's/7',
      candidateId: 'x',
      metadata: '',
      leaseTtlMs: 1_000,
      priority: 1,
    });
    const expected = Buffer.from(d.fsm.snapshot());
    const capture = d.fsm.captureSnapshot();
    expect(capture.index).toBe(d.index);
    expect(capture.encodeSlice(5)).toBeUndefined();
    d.nowMs += 10_000;
    d.apply({
      type: 'renew',
      leases: [
        { scope: 's/1', fenceToken: 2n },
        { scope: 's/30', fenceToken: 31n },
      ],
    });
    d.apply({ type: 'grace', tookOfficeStampMs: d.nowMs, graceMs: 60_000 });
    d.apply({ type: 'expire', leases: [{ scope: 's/20', fenceToken: 21n }] });
    d.apply({ type: 'stepDown', scope: 's/7', fenceToken: 8n });
    d.apply({ type: 'acquire', scope: 's/200', candidateId: 'w', metadata: '', leaseTtlMs: 600_000 });
    d.apply({ type: 'acquire', scope: 'a-first', candidateId: 'w', metadata: '', leaseTtlMs: 600_000 });
    let out: Uint8Array | undefined;
    for (let i = 0; i < 20 && out === undefined; i++) out = capture.encodeSlice(5);
    expect(bytes(out)).toEqual(expected);
    expect(bytes(d.fsm.snapshot())).not.toEqual(expected);
  });

  it('writes the same bytes as snapshot() across the msgpack array header sizes', () => {
    for (const count of [0, 1, 15, 16, 17, 300]) {
      const d = new Driver();
      acquireAll(d, count);
      for (const scopesMax of [1, 7, 16, 1000]) {
        expect(bytes(encodeAll(d.fsm, scopesMax))).toEqual(bytes(d.fsm.snapshot()));
      }
    }
  });

  it('writes the same bytes as snapshot() for more than 65,535 scopes', () => {
    // Built as snapshot bytes and restored: applying 65,537 acquisitions one by one takes long.
    const count = 65_537;
    const scopes = Array.from({ length: count }, (_, i) => {
      const fence = BigInt(i + 1);
      return [
        `s/${String(i).padStart(6, '0')}`,
        1,
        i + 1,
        fence,
        ['w', '', fence, 600_000, 1, 1, 600_001, ''],
        [],
      ];
    });
    const packr = new Packr({
      useRecords: false,
      mapsAsObjects: true,
      int64AsType: 'bigint',
      moreTypes: false,
    });
    const fsm = LeadershipFsm.restore(packr.pack([SNAPSHOT_FORMAT, count, 1, 1, scopes]));
    expect(fsm.stats().leaseCount).toBe(count);
    // Buffer.equals: toEqual walks megabytes byte by byte.
    expect(bytes(encodeAll(fsm, 4096)).equals(bytes(fsm.snapshot()))).toBe(true);
  });

  it('stays the state at its index when the state machine is restored from another snapshot', () => {
    const d = new Driver();
    acquireAll(d, 10);
    const expected = Buffer.from(d.fsm.snapshot());
    const capture = d.fsm.captureSnapshot();
    expect(capture.encodeSlice(3)).toBeUndefined();
    const other = new Driver();
    acquireAll(other, 3);
    d.fsm = LeadershipFsm.restore(other.fsm.snapshot());
    let out: Uint8Array | undefined;
    for (let i = 0; i < 10 && out === undefined; i++) out = capture.encodeSlice(3);
    expect(bytes(out)).toEqual(expected);
  });

  it('returns the same bytes again once finished, and refuses to go on once released early', () => {
    const d = new Driver();
    acquireAll(d, 4);
    const capture = d.fsm.captureSnapshot();
    const out = capture.encodeSlice(100);
    expect(capture.encodeSlice(1)).toBe(out);
    const released = d.fsm.captureSnapshot();
    expect(released.encodeSlice(1)).toBeUndefined();
    released.release();
    expect(() => released.encodeSlice(1)).toThrow(/released snapshot capture/);
  });

  it('joins a snapshot larger than SNAPSHOT_JOIN_BYTES over several calls, each copying at most that many bytes, and changes after the last scope stay out', () => {
    const d = new Driver();
    acquireAll(d, 45_000);
    const expected = d.fsm.snapshot();
    expect(expected.length).toBeGreaterThan(2 * SNAPSHOT_JOIN_BYTES);
    const capture = d.fsm.captureSnapshot();
    // One call encodes every scope and copies the first SNAPSHOT_JOIN_BYTES; the rest follow.
    expect(capture.encodeSlice(1_000_000)).toBeUndefined();
    // s/0 was granted by entry 1: its fence token is 1.
    d.apply({ type: 'resign', scope: 's/0', fenceToken: 1n });
    d.apply({ type: 'acquire', scope: 'new/1', candidateId: 'w', metadata: '', leaseTtlMs: 600_000 });
    expect(bytes(d.fsm.snapshot())).not.toEqual(bytes(expected));
    let calls = 1;
    let out: Uint8Array | undefined;
    for (; calls < 100 && out === undefined; calls++) out = capture.encodeSlice(1_000_000);
    expect(calls).toBe(Math.ceil(expected.length / SNAPSHOT_JOIN_BYTES));
    expect(bytes(out)).toEqual(bytes(expected));
  });

  it('writes the state at its index when scopes were created since the names were last sorted, whatever applies while it sorts and merges them', () => {
    // Scope names that interleave: `a`, `a/0` … `c/9`.
    const pool = ['a', 'b', 'c'].flatMap((first) => [
      first,
      ...Array.from({ length: 10 }, (_, i) => `${first}/${i}`),
    ]);
    const op = fc.record({
      k: fc.constantFrom('acquire', 'campaign', 'renew', 'resign'),
      scope: fc.constantFrom(...pool),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 20 }),
        fc.boolean(),
        fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 20 }),
        fc.array(op, { maxLength: 30 }),
        fc.integer({ min: 1, max: 3 }),
        (before, sortBetween, after, ops, scopesMax) => {
          const d = new Driver();
          const acquire = (scope: string): void => {
            d.apply({ type: 'acquire', scope, candidateId: 'w', metadata: '', leaseTtlMs: 600_000 });
          };
          before.forEach(acquire);
          // A snapshot sorts the names: those created after it are the capture's to sort.
          if (sortBetween) d.fsm.snapshot();
          after.filter((scope) => !before.includes(scope)).forEach(acquire);
          const expected = replay(d.log).fsm.snapshot();
          const capture = d.fsm.captureSnapshot();
          let out: Uint8Array | undefined;
          for (const { k, scope } of ops) {
            const holder = d.fsm.getHolder(scope);
            d.nowMs += 5;
            if (k === 'acquire') acquire(scope);
            else if (k === 'campaign') {
              d.apply({
                type: 'campaign',
                scope,
                candidateId: 'q',
                metadata: '',
                leaseTtlMs: 1_000,
                priority: 1,
              });
            } else if (holder !== null && k === 'renew') {
              d.apply({ type: 'renew', leases: [{ scope, fenceToken: holder.fenceToken }] });
            } else if (holder !== null) {
              d.apply({ type: 'resign', scope, fenceToken: holder.fenceToken });
            }
            out ??= capture.encodeSlice(scopesMax);
          }
          for (let i = 0; i < 100 && out === undefined; i++) out = capture.encodeSlice(scopesMax);
          expect(bytes(out)).toEqual(bytes(expected));
          // The state's names, which the capture merged for it, still list every scope in order.
          expect(bytes(d.fsm.snapshot())).toEqual(bytes(replay(d.log).fsm.snapshot()));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('takes the capture without sorting the names created since they were last sorted: its slices sort them', () => {
    const state = new FsmState();
    for (const name of ['d', 'b']) state.createScope(name);
    state.sortedScopeNames();
    for (const name of ['c', 'a', 'g', 'f', 'e']) state.createScope(name);
    const sort = jest.spyOn(FsmState.prototype, 'sortedScopeNames');
    try {
      const capture = new SnapshotCapture(state);
      expect(sort).not.toHaveBeenCalled();
      // Five new names, a run of up to 4 × scopesMax sorted per slice: two sorting slices, then
      // one slice per scope (the last one joins the bytes too).
      const calls: (Uint8Array | undefined)[] = [];
      for (let i = 0; i < 20 && calls[calls.length - 1] === undefined; i++)
        calls.push(capture.encodeSlice(1));
      expect(calls.length).toBe(2 + 7);
      expect(sort).not.toHaveBeenCalled();
    } finally {
      sort.mockRestore();
    }
  });

  it('hands the merged names to the state, which then keeps only the names created after the capture to sort', () => {
    const state = new FsmState();
    for (const name of ['d', 'b']) state.createScope(name);
    state.sortedScopeNames();
    for (const name of ['c', 'a']) state.createScope(name);
    const capture = new SnapshotCapture(state);
    state.createScope('e/new');
    for (let i = 0; i < 20 && capture.encodeSlice(1) === undefined; i++);
    expect(state.scopeNamesToCapture()).toEqual({ sorted: ['a', 'b', 'c', 'd'], added: ['e/new'] });
    expect(state.sortedScopeNames()).toEqual(['a', 'b', 'c', 'd', 'e/new']);
  });

  it('refuses a slice size that is not a positive integer with INVALID_ARGUMENT', () => {
    const capture = new LeadershipFsm().captureSnapshot();
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      let thrown: unknown;
      try {
        capture.encodeSlice(bad);
      } catch (e) {
        thrown = e;
      }
      expect(isLeadershipError(thrown) && thrown.code === 'INVALID_ARGUMENT').toBe(true);
    }
  });
});
