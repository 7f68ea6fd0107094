import { MemoryStorage, Mulberry32, RAFT_CONFIG_DEFAULTS, RaftCore } from '../../src/core/index';
import { persist, settle } from '../support/core-driver';

const membership = { voters: ['n1', 'n2', 'n3'], learners: [] };

function newCore(id: string, storage: MemoryStorage): RaftCore {
  return new RaftCore({
    ...RAFT_CONFIG_DEFAULTS,
    id,
    storage,
    rng: new Mulberry32(7),
    electionTicks: 10,
    heartbeatTicks: 2,
  });
}

/** leaderN1 makes n1 the leader of term 1 with every member caught up to its no-op. */
function leaderN1(): { core: RaftCore; storage: MemoryStorage } {
  const storage = MemoryStorage.bootstrap(membership);
  const core = newCore('n1', storage);
  core.campaign();
  settle(core, storage);
  core.step({ type: 'preVoteResponse', from: 'n2', to: 'n1', term: 1, reject: false });
  settle(core, storage);
  core.step({ type: 'voteResponse', from: 'n2', to: 'n1', term: 1, reject: false });
  expect(core.status().role).toBe('leader');
  const noop = core.status().lastIndex;
  settle(core, storage);
  for (const from of ['n2', 'n3']) {
    core.step({
      type: 'appendResponse',
      from,
      to: 'n1',
      term: 1,
      reject: false,
      index: noop,
      hintIndex: 0,
      hintTerm: 0,
    });
  }
  settle(core, storage);
  return { core, storage };
}

describe('RaftCore.takeEarlyMessages (sending while a write is in flight)', () => {
  it('is empty when no Ready is outstanding', () => {
    const { core } = leaderN1();
    core.propose(Buffer.from('a'));
    expect(core.takeEarlyMessages()).toEqual([]);
    // ready() still carries the append.
    expect(core.ready().earlyMessages.filter((m) => m.type === 'append')).toHaveLength(2);
  });

  it("hands the appends a follower's acknowledgement releases during the leader's own write, and ready() does not repeat them", () => {
    const { core, storage } = leaderN1();
    core.propose(Buffer.from('a'));
    const first = core.ready();
    const a = first.entries[0]!.index;
    expect(first.earlyMessages.map((m) => m.to).sort()).toEqual(['n2', 'n3']);

    // The write of `a` is in flight. A proposal alone waits for the next Ready (batching).
    core.propose(Buffer.from('b'));
    expect(core.takeEarlyMessages()).toEqual([]);

    // n2 acknowledges `a`: the append it releases (carrying `b`) may leave now.
    core.step({
      type: 'appendResponse',
      from: 'n2',
      to: 'n1',
      term: 1,
      reject: false,
      index: a,
      hintIndex: 0,
      hintTerm: 0,
    });
    const early = core.takeEarlyMessages();
    const carried = early.flatMap((m) =>
      m.type === 'append' && m.to === 'n2' ? m.entries.map((e) => e.index) : [],
    );
    expect(carried).toContain(a + 1);
    // The leader has not persisted `a`: n2 alone is no quorum, so nothing commits yet.
    expect(core.status().commit).toBe(a - 1);

    persist(core, storage, first);
    const second = core.ready();
    const again = second.earlyMessages.flatMap((m) =>
      m.type === 'append' && m.to === 'n2' ? m.entries.map((e) => e.index) : [],
    );
    expect(again).not.toContain(a + 1);
  });

  it('keeps a vote cast during a write back until that write is done', () => {
    const storage = MemoryStorage.bootstrap(membership);
    const core = newCore('n2', storage);
    core.step({
      type: 'append',
      from: 'n1',
      to: 'n2',
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      commit: 0,
      entries: [{ kind: 'noop', index: 1, term: 1 }],
    });
    const first = core.ready();
    // n3 asks for a vote in term 2 while the write of entry 1 is in flight (no leader lease: the
    // request comes with a transfer reason, which bypasses stickiness).
    core.step({
      type: 'vote',
      from: 'n3',
      to: 'n2',
      term: 2,
      lastLogIndex: 1,
      lastLogTerm: 1,
      reason: 'transfer',
    });
    expect(core.takeEarlyMessages().filter((m) => m.type === 'voteResponse')).toEqual([]);
    persist(core, storage, first);
    const second = core.ready();
    expect(second.messages.filter((m) => m.type === 'voteResponse')).toHaveLength(1);
    expect(second.hardState?.term).toBe(2);
  });
});
