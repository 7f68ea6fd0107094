import fc from 'fast-check';
import type { LeadershipEvent } from '@omnirelay/leadership-fsm';
import { decodeEvents, encodeEvents } from '@omnirelay/leadership-fsm';
import { Driver, replay } from './helpers/driver';
import { logArbitrary, runStep } from './helpers/random-log';

/** eventsOf applies a random log and answers every event it made. */
function eventsOf(steps: Parameters<typeof runStep>[1][]): LeadershipEvent[] {
  const d = new Driver();
  for (const step of steps) runStep(d, step);
  return replay(d.log).events;
}

describe('decodeEvents', () => {
  it('gives back the events encodeEvents was given, every field and its type (fences bigint)', () => {
    const reasons = new Set<string>();
    fc.assert(
      fc.property(logArbitrary(60), (steps) => {
        const events = eventsOf(steps);
        for (const e of events) reasons.add(e.reason);
        // Plain copies: the state machine's objects may carry more than the interface says.
        const expected = events.map((e) => ({
          ...e,
          previousHolder: e.previousHolder === null ? null : { ...e.previousHolder },
          holder: e.holder === null ? null : { ...e.holder },
        }));
        expect(decodeEvents(encodeEvents(events))).toEqual(expected);
      }),
      { numRuns: 150 },
    );
    // The random logs made events of every kind, not none.
    expect([...reasons].sort()).toEqual(['expired', 'granted', 'preempted', 'resigned', 'steppedDown']);
  });

  it('keeps large fences and stamps exact', () => {
    const event: LeadershipEvent = {
      revision: 2 ** 40,
      scope: 's/é/1',
      scopeTerm: 7,
      reason: 'preempted',
      previousHolder: { candidateId: 'a', fenceToken: 2n ** 64n - 1n },
      holder: {
        scope: 's/é/1',
        candidateId: 'b',
        sessionId: 'sess',
        metadata: '{"addr":"10.0.0.1"}',
        scopeTerm: 7,
        fenceToken: 2n ** 63n,
        leaseTtlMs: 10_000,
        deadlineMs: 1_765_000_010_123,
        lastRenewalStampMs: 1_765_000_000_123,
        grantedStampMs: 1_765_000_000_123,
        revision: 2 ** 40,
      },
      correlationId: 'c-1',
      raftTerm: 3,
      proposerId: 'n2',
      stampMs: 1_765_000_000_123,
      principal: 'client/orders',
    };
    const [back] = decodeEvents(encodeEvents([event]));
    expect(back).toEqual(event);
    expect(typeof back!.holder!.fenceToken).toBe('bigint');
    expect(typeof back!.previousHolder!.fenceToken).toBe('bigint');
  });

  it('refuses bytes that are not a list of events', () => {
    expect(() => decodeEvents(new Uint8Array([0x05]))).toThrow(/not a list of events/);
  });
});
