import type { Membership } from '../../src/core/index';
import {
  LEARNERS_MAX,
  VOTERS_MAX,
  applyConfigChange,
  isMember,
  isVoter,
  quorumIndex,
  quorumSize,
  tallyVotes,
} from '../../src/core/index';

const ids = (n: number, prefix = 'n'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
const voters = (n: number): Membership => ({ voters: ids(n), learners: [] });

describe('membership', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
  ])('needs a quorum of %i voters to be %i', (n, q) => {
    expect(quorumSize(voters(n))).toBe(q);
  });

  it('computes the index a majority of voters reached, ignoring learners', () => {
    const m: Membership = { voters: ['a', 'b', 'c', 'd', 'e'], learners: ['l'] };
    const match: Record<string, number> = { a: 9, b: 3, c: 7, d: 1, e: 5, l: 100 };
    expect(quorumIndex(m, (id) => match[id] ?? 0)).toBe(5);
  });

  it('counts a voter missing from the map as index 0', () => {
    expect(quorumIndex(voters(3), (id) => (id === 'n1' ? 5 : 0))).toBe(0);
    expect(quorumIndex({ voters: [], learners: [] }, () => 9)).toBe(0);
  });

  it('wins, loses or waits on a vote tally', () => {
    const m = voters(4);
    const votes = new Map<string, boolean>([['n1', true]]);
    expect(tallyVotes(m, votes)).toBe('pending');
    votes.set('n2', false);
    expect(tallyVotes(m, votes)).toBe('pending');
    votes.set('n3', false);
    expect(tallyVotes(m, votes)).toBe('lost');
    votes.set('n3', true);
    votes.set('n4', true);
    expect(tallyVotes(m, votes)).toBe('won');
  });

  it('counts no votes from non-voters', () => {
    const m: Membership = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };
    const votes = new Map<string, boolean>([
      ['n1', true],
      ['n4', true],
      ['n9', true],
    ]);
    expect(tallyVotes(m, votes)).toBe('pending');
  });

  it('tells voters, learners and strangers apart', () => {
    const m: Membership = { voters: ['n1'], learners: ['n2'] };
    expect([isVoter(m, 'n1'), isVoter(m, 'n2'), isMember(m, 'n2'), isMember(m, 'n3')]).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });

  it('adds a learner, promotes it, then removes it, keeping the lists sorted', () => {
    let m: Membership = { voters: ['n1', 'n3'], learners: [] };
    for (const change of [
      { type: 'addLearner', node: 'n2' },
      { type: 'promote', node: 'n2' },
      { type: 'remove', node: 'n1' },
    ] as const) {
      const r = applyConfigChange(m, change);
      if (!r.ok) throw new Error(r.reason);
      m = r.membership;
    }
    expect(m).toEqual({ voters: ['n2', 'n3'], learners: [] });
  });

  it.each([
    ['adding a member as a learner', { type: 'addLearner', node: 'n1' }, 'already a member'],
    ['promoting a voter', { type: 'promote', node: 'n1' }, 'not a learner'],
    ['promoting a stranger', { type: 'promote', node: 'n9' }, 'not a learner'],
    ['removing a stranger', { type: 'remove', node: 'n9' }, 'not a member'],
    ['an empty node id', { type: 'addLearner', node: '' }, 'non-empty'],
  ] as const)('refuses %s', (_title, change, reason) => {
    const r = applyConfigChange({ voters: ['n1', 'n2'], learners: ['l1'] }, change);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('refuses to remove the last voter', () => {
    const r = applyConfigChange({ voters: ['n1'], learners: [] }, { type: 'remove', node: 'n1' });
    expect(r).toEqual({ ok: false, reason: 'cannot remove the last voter' });
  });

  it('refuses a promotion beyond VOTERS_MAX voters', () => {
    const m: Membership = { voters: ids(VOTERS_MAX), learners: ['l1'] };
    const r = applyConfigChange(m, { type: 'promote', node: 'l1' });
    expect(r.ok).toBe(false);
  });

  it('refuses a learner beyond LEARNERS_MAX learners', () => {
    const m: Membership = { voters: ['n1'], learners: ids(LEARNERS_MAX, 'l') };
    const r = applyConfigChange(m, { type: 'addLearner', node: 'extra' });
    expect(r.ok).toBe(false);
  });

  it('removes a learner as well as a voter', () => {
    const r = applyConfigChange({ voters: ['n1'], learners: ['l1'] }, { type: 'remove', node: 'l1' });
    expect(r).toEqual({ ok: true, membership: { voters: ['n1'], learners: [] } });
  });
});

describe('applyConfigChange with peer addresses', () => {
  const base = { voters: ['n1', 'n2', 'n3'], learners: [] };

  it("records a new learner's address, keeps it through promotion, and drops it on removal", () => {
    const added = applyConfigChange(base, { type: 'addLearner', node: 'n4', address: '10.0.0.4:7101' });
    expect(added).toEqual({
      ok: true,
      membership: { voters: ['n1', 'n2', 'n3'], learners: ['n4'], addresses: { n4: '10.0.0.4:7101' } },
    });
    if (!added.ok) throw new Error('refused');
    const promoted = applyConfigChange(added.membership, { type: 'promote', node: 'n4' });
    expect(promoted).toMatchObject({
      ok: true,
      membership: { voters: ['n1', 'n2', 'n3', 'n4'], addresses: { n4: '10.0.0.4:7101' } },
    });
    if (!promoted.ok) throw new Error('refused');
    const removed = applyConfigChange(promoted.membership, { type: 'remove', node: 'n4' });
    expect(removed).toEqual({ ok: true, membership: { voters: ['n1', 'n2', 'n3'], learners: [] } });
  });

  it("records a new learner's client HTTP and gRPC addresses, keeps them through promotion and binding, and drops them on removal", () => {
    const added = applyConfigChange(base, {
      type: 'addLearner',
      node: 'n4',
      address: '10.0.0.4:7101',
      clientAddress: '10.0.0.4:7201',
      grpcAddress: '10.0.0.4:7301',
    });
    expect(added).toEqual({
      ok: true,
      membership: {
        voters: ['n1', 'n2', 'n3'],
        learners: ['n4'],
        addresses: { n4: '10.0.0.4:7101' },
        clientAddresses: { n4: '10.0.0.4:7201' },
        grpcAddresses: { n4: '10.0.0.4:7301' },
      },
    });
    if (!added.ok) throw new Error('refused');
    const promoted = applyConfigChange(added.membership, { type: 'promote', node: 'n4', incarnation: 'i-4' });
    if (!promoted.ok) throw new Error('refused');
    const bound = applyConfigChange(promoted.membership, { type: 'bind', node: 'n1', incarnation: 'i-1' });
    expect(bound).toEqual({
      ok: true,
      membership: {
        voters: ['n1', 'n2', 'n3', 'n4'],
        learners: [],
        addresses: { n4: '10.0.0.4:7101' },
        incarnations: { n1: 'i-1', n4: 'i-4' },
        clientAddresses: { n4: '10.0.0.4:7201' },
        grpcAddresses: { n4: '10.0.0.4:7301' },
      },
    });
    if (!bound.ok) throw new Error('refused');
    const removed = applyConfigChange(bound.membership, { type: 'remove', node: 'n4' });
    expect(removed).toEqual({
      ok: true,
      membership: { voters: ['n1', 'n2', 'n3'], learners: [], incarnations: { n1: 'i-1' } },
    });
  });

  it.each([
    ['clientAddress', { clientAddress: 'nowhere' }],
    ['grpcAddress', { grpcAddress: '10.0.0.4' }],
  ])('refuses a malformed %s', (name, addresses) => {
    expect(
      applyConfigChange(base, { type: 'addLearner', node: 'n4', address: '10.0.0.4:7101', ...addresses }),
    ).toEqual({ ok: false, reason: expect.stringContaining(`${name} `) as unknown });
  });

  it('keeps a membership without run-time members free of an address book', () => {
    expect(applyConfigChange(base, { type: 'addLearner', node: 'n4' })).toEqual({
      ok: true,
      membership: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] },
    });
  });

  it('refuses an address that is not host:port', () => {
    expect(applyConfigChange(base, { type: 'addLearner', node: 'n4', address: 'no port' })).toMatchObject({
      ok: false,
    });
  });
});
