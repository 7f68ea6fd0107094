import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { LeadershipFsm, isLeadershipError } from '@omnirelay/leadership-fsm';
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

/** restoreAll calls restoreSlice until it returns the state machine; it counts the calls (at most `slicesMax`). */
function restoreAll(
  bytes: Uint8Array,
  scopesMax: number,
  slicesMax = 100_000,
): { fsm: LeadershipFsm; slices: number } {
  const restore = LeadershipFsm.beginRestore(bytes);
  for (let slices = 1; slices <= slicesMax; slices++) {
    const fsm = restore.restoreSlice(scopesMax);
    if (fsm !== undefined) return { fsm, slices };
  }
  throw new Error(`no state machine after ${slicesMax} slices`);
}

/** errorOf returns what `fn` throws (undefined when it returns). */
function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e: unknown) {
    return e;
  }
  return undefined;
}

/** acquired is a state machine holding `count` scopes `s/<i>`, one entry each, with waiters on some. */
function acquired(count: number): Driver {
  const d = new Driver();
  for (let i = 0; i < count; i++) {
    d.apply({ type: 'acquire', scope: `s/${i}`, candidateId: 'w', metadata: '', leaseTtlMs: 1000 + i });
    if (i % 5 === 0) {
      d.apply({
        type: 'campaign',
        scope: `s/${i}`,
        candidateId: 'q',
        metadata: '',
        leaseTtlMs: 1000,
        priority: 1,
      });
    }
  }
  return d;
}

describe('LeadershipFsm.beginRestore', () => {
  it('restores in slices the state a whole restore gives, byte for byte', () => {
    fc.assert(
      fc.property(logArbitrary(60), fc.integer({ min: 1, max: 4 }), (steps, scopesMax) => {
        const bytes = replay(record(steps)).fsm.snapshot();
        const whole = LeadershipFsm.restore(bytes);
        const { fsm } = restoreAll(bytes, scopesMax);
        expect(Buffer.from(fsm.snapshot())).toEqual(Buffer.from(bytes));
        expect(fsm.stats()).toEqual(whole.stats());
        expect(fsm.nextDeadline()).toEqual(whole.nextDeadline());
        expect(fsm.expiredLeases(Number.MAX_SAFE_INTEGER)).toEqual(
          whole.expiredLeases(Number.MAX_SAFE_INTEGER),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('decodes at most scopesMax scopes per slice and returns nothing before the last', () => {
    const bytes = acquired(50).fsm.snapshot();
    const restore = LeadershipFsm.beginRestore(bytes);
    expect(restore.index).toBe(LeadershipFsm.restore(bytes).lastAppliedIndex);
    const answers = Array.from({ length: 8 }, () => restore.restoreSlice(7));
    // 50 scopes at 7 a slice: 7 slices of nothing, the 8th returns the state machine.
    expect(answers.slice(0, 7).every((a) => a === undefined)).toBe(true);
    const fsm = answers[7];
    expect(fsm?.stats().leaseCount).toBe(50);
    expect(fsm?.stats().waitingCount).toBe(10);
    expect(restore.restoreSlice(7)).toBe(fsm);
  });

  it('keeps the deadline order of a whole restore, earliest lease first', () => {
    const bytes = acquired(30).fsm.snapshot();
    const { fsm, slices } = restoreAll(bytes, 4);
    expect(slices).toBe(8);
    const due = fsm.expiredLeases(Number.MAX_SAFE_INTEGER);
    expect(due.map((l) => l.scope)).toEqual(Array.from({ length: 30 }, (_, i) => `s/${i}`));
  });

  it('restores an empty state machine in one slice', () => {
    const bytes = new LeadershipFsm().snapshot();
    expect(restoreAll(bytes, 1)).toMatchObject({ slices: 1 });
  });

  it('refuses a scopesMax that is not a positive integer with INVALID_ARGUMENT', () => {
    const restore = LeadershipFsm.beginRestore(acquired(3).fsm.snapshot());
    for (const scopesMax of [0, -1, 1.5, Number.NaN]) {
      expect(
        isLeadershipError(
          errorOf(() => restore.restoreSlice(scopesMax)),
          'INVALID_ARGUMENT',
        ),
      ).toBe(true);
    }
  });

  it('refuses truncated bytes and trailing bytes with INVALID_SNAPSHOT in the slice that meets them', () => {
    const bytes = acquired(20).fsm.snapshot();
    const truncated = LeadershipFsm.beginRestore(bytes.subarray(0, bytes.length - 3));
    expect(truncated.restoreSlice(10)).toBeUndefined();
    expect(
      isLeadershipError(
        errorOf(() => truncated.restoreSlice(10)),
        'INVALID_SNAPSHOT',
      ),
    ).toBe(true);
    const trailing = LeadershipFsm.beginRestore(Buffer.concat([bytes, Buffer.of(0xc0)]));
    expect(
      isLeadershipError(
        errorOf(() => trailing.restoreSlice(20)),
        'INVALID_SNAPSHOT',
      ),
    ).toBe(true);
    expect(
      isLeadershipError(
        errorOf(() => LeadershipFsm.restore(Buffer.concat([bytes, Buffer.of(0xc0)]))),
        'INVALID_SNAPSHOT',
      ),
    ).toBe(true);
  });

  it('refuses a bad header with INVALID_SNAPSHOT before any slice', () => {
    for (const bad of [
      new Uint8Array(0),
      Uint8Array.of(0xc1),
      Uint8Array.of(0x01),
      Uint8Array.of(0x95, 0x02),
    ]) {
      expect(
        isLeadershipError(
          errorOf(() => LeadershipFsm.beginRestore(bad)),
          'INVALID_SNAPSHOT',
        ),
      ).toBe(true);
    }
  });
});
