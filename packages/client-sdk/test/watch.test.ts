import { leadershipEventOnce } from '../src/watch';
import type { WireEvent } from '../src/wire';

function wireEvent(scope: string): WireEvent {
  return {
    revision: '9',
    scope,
    scopeTerm: '2',
    reason: 'HOLDER_CHANGE_REASON_RESIGNED',
    previousHolder: { candidateId: 'a', fenceToken: '4' },
    holder: null,
    correlationId: '',
    raftTerm: '1',
    proposerId: 'n1',
    stampMs: '1000',
  };
}

describe('leadershipEventOnce', () => {
  it('converts one decoded wire event once for every watcher that shares it', () => {
    const wire = wireEvent('orders/1');
    const first = leadershipEventOnce(wire);
    expect(first.revision).toBe(9n);
    expect(first.scope).toBe('orders/1');
    expect(leadershipEventOnce(wire)).toBe(first);
  });

  it('converts distinct wire events separately, even when they are equal', () => {
    const a = leadershipEventOnce(wireEvent('orders/1'));
    const b = leadershipEventOnce(wireEvent('orders/1'));
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
  });
});
