import { OmniRelayError } from '@omnirelay/client-sdk';
import { outcomeOf, storeOutcomeOf } from '../../src/workload/outcome';

describe('outcomeOf', () => {
  it('records a refusal as fail and anything that may have been applied as info', () => {
    expect(outcomeOf(new OmniRelayError('NOT_HOLDER', 'x'))).toEqual({ type: 'fail', code: 'NOT_HOLDER' });
    expect(outcomeOf(new OmniRelayError('STALE_FENCE', 'x'))).toEqual({ type: 'fail', code: 'STALE_FENCE' });
    expect(outcomeOf(new OmniRelayError('DEADLINE_EXCEEDED', 'x'))).toEqual({
      type: 'info',
      code: 'DEADLINE_EXCEEDED',
    });
    expect(outcomeOf(new OmniRelayError('UNAVAILABLE', 'x'))).toEqual({ type: 'info', code: 'UNAVAILABLE' });
    expect(outcomeOf(new OmniRelayError('NOT_LEADER', 'x'))).toEqual({ type: 'info', code: 'NOT_LEADER' });
    expect(outcomeOf(new OmniRelayError('LEASE_LOST', 'x'))).toEqual({ type: 'info', code: 'LEASE_LOST' });
    expect(outcomeOf(new Error('socket hang up'))).toEqual({ type: 'info', code: 'UNKNOWN' });
  });
});

describe('storeOutcomeOf', () => {
  it('records 200 ok, 409 and 400 fail, and no answer or another status info', () => {
    expect(storeOutcomeOf(200)).toEqual({ type: 'ok' });
    expect(storeOutcomeOf(409)).toEqual({ type: 'fail', code: 'STALE_FENCE' });
    expect(storeOutcomeOf(400)).toEqual({ type: 'fail', code: 'INVALID_ARGUMENT' });
    expect(storeOutcomeOf(503)).toEqual({ type: 'info', code: 'HTTP_503' });
    expect(storeOutcomeOf(undefined)).toEqual({ type: 'info', code: 'UNAVAILABLE' });
  });
});
