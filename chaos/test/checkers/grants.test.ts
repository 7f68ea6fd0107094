import { checkGrants } from '../../src/checkers/grants';
import type { AcknowledgedGrant } from '../../src/grants';
import { event, holder } from '../helpers/records';

function acked(candidate: string, fence: bigint, invokeMs: number, ackMs: number): AcknowledgedGrant {
  return {
    scope: 's',
    fence,
    candidate,
    source: `client-${candidate}:${invokeMs}`,
    invokeNs: BigInt(invokeMs) * 1_000_000n,
    ackNs: BigInt(ackMs) * 1_000_000n,
  };
}

const committed = [
  event(3, 'granted', null, holder('a', 3n)),
  event(5, 'resigned', holder('a', 3n), null),
  event(9, 'granted', null, holder('b', 9n)),
];

describe('checkGrants', () => {
  it('accepts rising fences whose acknowledged grants all survived a restart', () => {
    const result = checkGrants({
      events: committed,
      acknowledged: [acked('a', 3n, 0, 1), acked('b', 9n, 20, 21)],
      restartsNs: [10_000_000n],
    });
    expect(result).toEqual({ checker: 'grants', verdict: 'valid', violations: [] });
  });

  it('flags a fence that does not rise in commit order, and revisions out of order', () => {
    const result = checkGrants({
      events: [
        event(3, 'granted', null, holder('a', 3n)),
        event(4, 'resigned', holder('a', 3n), null),
        event(6, 'granted', null, holder('b', 3n)),
        event(5, 'granted', null, holder('c', 5n), 't'),
      ],
      acknowledged: [],
      restartsNs: [],
    });
    expect(result.violations).toEqual([
      'audit:5: revision 5 comes after revision 6 (audit:6): the committed history is out of order',
      'audit:6: scope s granted fence 3 to b after fence 3 (audit:3): fences must be unique and strictly increasing',
    ]);
  });

  it('accepts a lease that survived a restart returned to its holder with its fence (full-restart, seed 17)', () => {
    const result = checkGrants({
      events: committed,
      acknowledged: [acked('a', 3n, 0, 1), acked('a', 3n, 20, 21)],
      restartsNs: [10_000_000n],
    });
    expect(result).toEqual({ checker: 'grants', verdict: 'valid', violations: [] });
  });

  it('flags an acknowledged grant missing from the history read after a restart (a wiped node)', () => {
    const result = checkGrants({
      events: [event(2, 'granted', null, holder('b', 2n))],
      acknowledged: [acked('a', 3n, 0, 1), acked('b', 2n, 20, 21)],
      restartsNs: [10_000_000n],
    });
    expect(result.violations).toEqual([
      'client-a:0: scope s fence 3 was acknowledged to a but is not in the committed history: an acknowledged grant was lost',
      'client-b:20: after the restart at 10.000 ms, scope s granted fence 2 to b, not above fence 3 acknowledged before it (client-a:0)',
    ]);
  });

  it('flags a fence acknowledged to two candidates, with or without an audit file', () => {
    const result = checkGrants({
      events: undefined,
      acknowledged: [acked('a', 3n, 0, 1), acked('a', 3n, 2, 3), acked('b', 3n, 5, 6)],
      restartsNs: [],
    });
    expect(result.violations).toEqual([
      'client-b:5: scope s fence 3 was acknowledged to b and to a (client-a:0): a fence was reused',
    ]);
  });

  it('flags an acknowledged grant the history gives to another candidate', () => {
    const result = checkGrants({ events: committed, acknowledged: [acked('c', 9n, 0, 1)], restartsNs: [] });
    expect(result.violations).toEqual([
      'client-c:0: scope s fence 9 was acknowledged to c but the committed history grants it to b',
    ]);
  });
});
