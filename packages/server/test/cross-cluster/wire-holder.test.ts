import { mirrorChangeOf } from '../../src/cross-cluster/wire-holder';

const holder = {
  candidateId: 'w1',
  metadata: 'm',
  fenceToken: '281474976710697',
  scopeTerm: '3',
  leaseTtlMs: 5000,
  grantedStampMs: '1700',
};

describe('mirrorChangeOf', () => {
  it('converts a grant into a mirrored holder without a reason', () => {
    expect(
      mirrorChangeOf({
        revision: '41',
        scope: 'orders/1',
        stampMs: '1700',
        holder,
        reason: 'HOLDER_CHANGE_REASON_GRANTED',
      }),
    ).toEqual({
      scope: 'orders/1',
      revision: 41,
      holder: {
        candidateId: 'w1',
        metadata: 'm',
        fenceToken: 281474976710697n,
        scopeTerm: 3,
        leaseTtlMs: 5000,
        grantedStampMs: 1700,
      },
    });
  });

  it('keeps the reason of a step-down (a drain), so the mirror keeps the holder it ended', () => {
    const event = { revision: '45', scope: 'orders/1', stampMs: '1800', holder: null };
    expect(mirrorChangeOf({ ...event, reason: 'HOLDER_CHANGE_REASON_STEPPED_DOWN' })).toEqual({
      scope: 'orders/1',
      revision: 45,
      holder: null,
      reason: 'steppedDown',
    });
    expect(mirrorChangeOf({ ...event, reason: 'HOLDER_CHANGE_REASON_RESIGNED' })).toEqual({
      scope: 'orders/1',
      revision: 45,
      holder: null,
    });
  });
});
