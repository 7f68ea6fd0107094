import { isServerError } from '../../src/errors/error-table';
import type { AdmissionChange, AdmittedCall } from '../../src/leadership/renewal-admission';
import { RETRY_AFTER_BOUNDS_MAX, RenewalAdmission, renewalLag } from '../../src/leadership/renewal-admission';

/** admission builds a RenewalAdmission on a hand-moved clock and renewal backlog. */
function admission(lagMaxMs: number): {
  subject: RenewalAdmission;
  set: (state: { nowMs?: number; lagMs?: number }) => void;
  refused: AdmittedCall[];
  changes: AdmissionChange[];
} {
  let nowMs = 1_000;
  let lagMs = 0;
  const refused: AdmittedCall[] = [];
  const changes: AdmissionChange[] = [];
  return {
    subject: new RenewalAdmission(
      lagMaxMs,
      () => lagMs,
      (call) => refused.push(call),
      (change) => changes.push(change),
      () => nowMs,
    ),
    set: (state) => {
      nowMs = state.nowMs ?? nowMs;
      lagMs = state.lagMs ?? lagMs;
    },
    refused,
    changes,
  };
}

function refusal(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('renewalLag', () => {
  it("adds how late the event loop runs to the oldest renewal's wait, only while a renewal waits", () => {
    expect(renewalLag(40, 35)).toBe(75);
    expect(renewalLag(40, 0)).toBe(40);
    // An idle leader that stalled is behind on nothing.
    expect(renewalLag(0, 1_264)).toBe(0);
  });
});

describe('RenewalAdmission', () => {
  it('tells a refused caller to wait about as long as the backlog: at least the bound, at most RETRY_AFTER_BOUNDS_MAX bounds', () => {
    const { subject, set } = admission(1_000);
    const askedFor = (lagMs: number): unknown => {
      set({ lagMs });
      return (refusal(() => subject.admit('acquire')) as { details: { retryAfterMs: unknown } }).details
        .retryAfterMs;
    };
    expect(askedFor(1_001)).toBe(1_001);
    expect(askedFor(2_500)).toBe(2_500);
    expect(askedFor(60_000)).toBe(RETRY_AFTER_BOUNDS_MAX * 1_000);
    // Refusing lasts the bound after the backlog was last over it: a caller refused then waits that long.
    set({ lagMs: 0 });
    expect(askedFor(0)).toBe(1_000);
  });

  it('admits new leases while the renewal backlog is at or under the bound', () => {
    const { subject, set, refused } = admission(1_000);
    subject.admit('acquire');
    set({ lagMs: 1_000 });
    subject.admit('campaign');
    expect(refused).toEqual([]);
    expect(subject.status()).toEqual({
      renewalLagMsMax: 1_000,
      renewalLagMs: 1_000,
      refusing: false,
      refusedTotal: 0,
    });
  });

  it('refuses with BACKPRESSURE, naming the backlog, the bound and what to do, once the backlog is over the bound', () => {
    const { subject, set, refused } = admission(1_000);
    set({ lagMs: 1_250.4 });
    const e = refusal(() => subject.admit('acquire'));
    expect(isServerError(e, 'BACKPRESSURE')).toBe(true);
    expect((e as Error).message).toMatch(
      /they wait 1250 ms; the bound is 1000 ms, --admission-renewal-lag-ms\): retry/,
    );
    expect((e as { details: unknown }).details).toEqual({
      renewalLagMs: 1250,
      renewalLagMsMax: 1_000,
      retryAfterMs: 1250,
    });
    expect(
      isServerError(
        refusal(() => subject.admit('campaign')),
        'BACKPRESSURE',
      ),
    ).toBe(true);
    expect(refused).toEqual(['acquire', 'campaign']);
    expect(subject.status()).toEqual({
      renewalLagMsMax: 1_000,
      renewalLagMs: 1250,
      refusing: true,
      refusedTotal: 2,
    });
  });

  it('admits a call whose session already holds the scope while refusing, and asks only then', () => {
    const { subject, set, refused } = admission(1_000);
    let asked = 0;
    const held = (answer: boolean) => (): boolean => {
      asked++;
      return answer;
    };
    subject.admit('acquire', held(true));
    expect(asked).toBe(0); // not refusing: the FSM is not consulted
    set({ lagMs: 1_500 });
    expect(refusal(() => subject.admit('acquire', held(true)))).toBeUndefined();
    expect(refusal(() => subject.admit('campaign', held(true)))).toBeUndefined();
    expect(
      isServerError(
        refusal(() => subject.admit('acquire', held(false))),
        'BACKPRESSURE',
      ),
    ).toBe(true);
    expect(asked).toBe(3);
    expect(refused).toEqual(['acquire']);
    expect(subject.status()).toMatchObject({ refusing: true, refusedTotal: 1 });
  });

  it('keeps refusing for the bound after the backlog last exceeded it, then admits again', () => {
    const { subject, set } = admission(1_000);
    set({ lagMs: 1_500 });
    expect(refusal(() => subject.admit('acquire'))).toBeDefined();
    // The backlog cleared at once, but the leader stays closed to new leases for one bound more.
    set({ nowMs: 1_999, lagMs: 0 });
    expect(
      isServerError(
        refusal(() => subject.admit('acquire')),
        'BACKPRESSURE',
      ),
    ).toBe(true);
    expect(subject.status().refusing).toBe(true);
    set({ nowMs: 2_000 });
    expect(refusal(() => subject.admit('acquire'))).toBeUndefined();
    expect(subject.status().refusing).toBe(false);
    // A backlog over the bound again, seen later, starts a new period from then.
    set({ nowMs: 5_000, lagMs: 1_001 });
    expect(refusal(() => subject.admit('campaign'))).toBeDefined();
    set({ nowMs: 5_999, lagMs: 10 });
    expect(refusal(() => subject.admit('campaign'))).toBeDefined();
    set({ nowMs: 6_000 });
    expect(refusal(() => subject.admit('campaign'))).toBeUndefined();
  });

  it('reports each period of refusals once, when it begins and when the first call after it is admitted', () => {
    const { subject, set, changes } = admission(1_000);
    set({ lagMs: 1_500 });
    for (let i = 0; i < 3; i++) expect(refusal(() => subject.admit('acquire'))).toBeDefined();
    set({ nowMs: 1_500, lagMs: 1_800 });
    expect(refusal(() => subject.admit('campaign'))).toBeDefined();
    expect(changes).toEqual([{ refusing: true, renewalLagMs: 1_500, refused: 0 }]);
    set({ nowMs: 2_600, lagMs: 20 });
    subject.admit('acquire');
    subject.admit('acquire');
    expect(changes).toEqual([
      { refusing: true, renewalLagMs: 1_500, refused: 0 },
      { refusing: false, renewalLagMs: 20, refused: 4 },
    ]);
  });

  it('reports a period ended when the next one begins with no call admitted between them', () => {
    const { subject, set, changes } = admission(1_000);
    set({ lagMs: 1_200 });
    expect(refusal(() => subject.admit('acquire'))).toBeDefined();
    set({ nowMs: 5_000, lagMs: 1_300 });
    expect(refusal(() => subject.admit('acquire'))).toBeDefined();
    expect(changes).toEqual([
      { refusing: true, renewalLagMs: 1_200, refused: 0 },
      { refusing: false, renewalLagMs: 1_300, refused: 1 },
      { refusing: true, renewalLagMs: 1_300, refused: 0 },
    ]);
  });

  it('never refuses when the bound is 0 (off)', () => {
    const { subject, set, refused } = admission(0);
    set({ lagMs: 60_000 });
    subject.admit('acquire');
    subject.admit('campaign');
    expect(refused).toEqual([]);
    expect(subject.status()).toEqual({
      renewalLagMsMax: 0,
      renewalLagMs: 60_000,
      refusing: false,
      refusedTotal: 0,
    });
  });
});
