import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import type { LeadershipEvent } from '@omnirelay/leadership-fsm';
import {
  LeadershipFsm,
  SNAPSHOT_FORMAT,
  SNAPSHOT_FORMAT_SESSIONLESS,
  encodeEvents,
  isLeadershipError,
} from '@omnirelay/leadership-fsm';
import type { RecordedEntry } from './helpers/driver';
import { Driver, replay } from './helpers/driver';
import { logArbitrary, packRaw, runStep } from './helpers/random-log';

function record(steps: Parameters<typeof runStep>[1][]): RecordedEntry[] {
  const d = new Driver();
  for (const step of steps) {
    runStep(d, step);
  }
  return d.log;
}

const bytes = (b: Uint8Array): Buffer => Buffer.from(b);
const eventBytes = (events: readonly LeadershipEvent[]): Buffer => Buffer.from(encodeEvents(events));

describe('snapshot and replay', () => {
  it('gives byte-identical state, events and results when the same log is applied twice', () => {
    fc.assert(
      fc.property(logArbitrary(60), (steps) => {
        const log = record(steps);
        const first = replay(log);
        const second = replay(log);
        expect(bytes(second.fsm.snapshot())).toEqual(bytes(first.fsm.snapshot()));
        expect(eventBytes(second.events)).toEqual(eventBytes(first.events));
        expect(second.results).toEqual(first.results);
      }),
      { numRuns: 150 },
    );
  });

  it('continues identically after a snapshot restore in the middle of the log', () => {
    fc.assert(
      fc.property(logArbitrary(60), fc.nat(), (steps, cut) => {
        const log = record(steps);
        const at = cut % (log.length + 1);
        const whole = replay(log);
        const head = replay(log.slice(0, at));
        const restored = LeadershipFsm.restore(head.fsm.snapshot());
        expect(bytes(restored.snapshot())).toEqual(bytes(head.fsm.snapshot()));
        const tail = replay(log.slice(at), restored);
        expect(bytes(tail.fsm.snapshot())).toEqual(bytes(whole.fsm.snapshot()));
        expect(eventBytes([...head.events, ...tail.events])).toEqual(eventBytes(whole.events));
        expect([...head.results, ...tail.results]).toEqual(whole.results);
        expect(tail.fsm.nextDeadline()).toEqual(whole.fsm.nextDeadline());
        expect(tail.fsm.expiredLeases(Number.MAX_SAFE_INTEGER)).toEqual(
          whole.fsm.expiredLeases(Number.MAX_SAFE_INTEGER),
        );
        expect(tail.fsm.stats()).toEqual(whole.fsm.stats());
      }),
      { numRuns: 150 },
    );
  });

  it('writes the same bytes whatever order the scopes were inserted in', () => {
    const original = new Driver();
    for (const scope of ['zeta', 'alpha', 'mid']) {
      original.apply({ type: 'acquire', scope, candidateId: 'x', metadata: '', leaseTtlMs: 1_000 });
    }
    // After a restore the scopes are inserted in sorted order, not in the order they were created.
    const restored = new Driver();
    restored.fsm = LeadershipFsm.restore(original.fsm.snapshot());
    restored.index = original.index;
    for (const d of [original, restored]) {
      d.apply({ type: 'acquire', scope: 'beta', candidateId: 'y', metadata: '', leaseTtlMs: 1_000 });
      d.apply({ type: 'grace', tookOfficeStampMs: d.nowMs, graceMs: 5_000 });
      d.apply({ type: 'resign', scope: 'zeta', fenceToken: 1n });
    }
    expect(bytes(restored.fsm.snapshot())).toEqual(bytes(original.fsm.snapshot()));
    expect(eventBytes(restored.events)).toEqual(eventBytes(original.events.slice(3)));
    expect([...restored.fsm.leases()]).toEqual([...original.fsm.leases()]);
  });

  it('keeps fences above every earlier one after a restore', () => {
    const d = new Driver();
    d.apply({ type: 'acquire', scope: 'x', candidateId: 'a', metadata: '', leaseTtlMs: 1_000 });
    d.apply({ type: 'resign', scope: 'x', fenceToken: 1n });
    d.fsm = LeadershipFsm.restore(d.fsm.snapshot());
    const result = d.apply({
      type: 'acquire',
      scope: 'x',
      candidateId: 'b',
      metadata: '',
      leaseTtlMs: 1_000,
    });
    expect(result.events[0]).toMatchObject({ scopeTerm: 3, holder: { fenceToken: 3n } });
    expect(d.fsm.validateFence('x', 1n)).toBe(false);
  });

  it('reads a format 1 snapshot, written before sessions, as leases and waiters of no session', () => {
    const format1 = packRaw([
      SNAPSHOT_FORMAT_SESSIONLESS,
      3,
      1,
      1000,
      [['x', 1, 1, 1n, ['a', 'm', 1n, 1000, 1000, 1000, 2000], [['b', '', 1000, 0, 2]]]],
    ]);
    const fsm = LeadershipFsm.restore(format1);
    expect(fsm.getScope('x')).toMatchObject({
      holder: { candidateId: 'a', sessionId: '', fenceToken: 1n, deadlineMs: 2000 },
      waiting: [{ candidateId: 'b', sessionId: '' }],
    });
    // It is written back in the current format, which reads back to the same state.
    const again = LeadershipFsm.restore(fsm.snapshot());
    expect(bytes(again.snapshot())).toEqual(bytes(fsm.snapshot()));
    expect(again.getScope('x')).toEqual(fsm.getScope('x'));
    // A holder without a session gets its lease back from no one: the same candidate is refused.
    const d = new Driver();
    d.fsm = fsm;
    d.index = 3;
    const retry = d.apply({
      type: 'acquire',
      scope: 'x',
      candidateId: 'a',
      sessionId: 's1',
      metadata: '',
      leaseTtlMs: 1000,
    });
    expect(retry).toMatchObject({ ok: false, error: { code: 'HELD_BY_OTHER_SESSION' } });
  });

  it('refuses snapshot bytes of another format or shape with INVALID_SNAPSHOT', () => {
    const cases: Uint8Array[] = [
      new Uint8Array([0xc1]),
      packRaw([SNAPSHOT_FORMAT + 1, 0, 0, 0, []]),
      packRaw([SNAPSHOT_FORMAT, 0, 0, 0]),
      packRaw([SNAPSHOT_FORMAT, 0, 0, 0, [['x', 1, 1, 'nope', null, []]]]),
      packRaw([SNAPSHOT_FORMAT, 5, 1, 0, [['Bad', 1, 1, 1n, null, []]]]),
      // Format 2 records without their session, and a session id outside the rules.
      packRaw([SNAPSHOT_FORMAT, 5, 1, 0, [['x', 1, 1, 1n, ['a', '', 1n, 1000, 0, 0, 1000], []]]]),
      packRaw([SNAPSHOT_FORMAT, 5, 1, 0, [['x', 1, 1, 1n, ['a', '', 1n, 1000, 0, 0, 1000, 's 1'], []]]]),
      packRaw([
        SNAPSHOT_FORMAT,
        5,
        1,
        0,
        [['x', 1, 1, 1n, ['a', '', 1n, 1000, 0, 0, 1000, ''], [['b', '', 1000, 0, 2]]]],
      ]),
    ];
    for (const snapshot of cases) {
      let caught: unknown;
      try {
        LeadershipFsm.restore(snapshot);
      } catch (e: unknown) {
        caught = e;
      }
      expect(isLeadershipError(caught, 'INVALID_SNAPSHOT')).toBe(true);
    }
  });

  it('stops with InvariantViolation on a well-formed snapshot whose fence is above the applied index', () => {
    const snapshot = packRaw([
      SNAPSHOT_FORMAT,
      5,
      1,
      0,
      [['x', 1, 9, 9n, ['a', '', 9n, 1000, 0, 0, 1000, 's1'], []]],
    ]);
    expect(() => LeadershipFsm.restore(snapshot)).toThrow('applied 5');
  });
});
