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

describe('RaftCore.takeEarlyCommittedEntries (applying while a write is in flight)', () => {
  /** ack is n`from`'s acknowledgement of everything up to `index` in term 1. */
  function ack(from: string, index: number): Parameters<RaftCore['step']>[0] {
    return {
      type: 'appendResponse',
      from,
      to: 'n1',
      term: 1,
      reject: false,
      index,
      hintIndex: 0,
      hintTerm: 0,
    };
  }

  it('is empty when no Ready is outstanding', () => {
    const { core } = leaderN1();
    expect(core.takeEarlyCommittedEntries()).toEqual([]);
  });

  it("hands over what an acknowledgement commits during the leader's write of newer entries, and ready() does not repeat them", () => {
    const { core, storage } = leaderN1();
    core.propose(Buffer.from('a'));
    const first = core.ready();
    const a = first.entries[0]!.index;
    persist(core, storage, first);

    // `a` is durable on the leader; the write of `b` is in flight when n2 acknowledges `a`.
    core.propose(Buffer.from('b'));
    const second = core.ready();
    expect(second.entries.map((e) => e.index)).toEqual([a + 1]);
    expect(second.committedEntries).toEqual([]);
    core.step(ack('n2', a));
    expect(core.status().commit).toBe(a);
    expect(core.takeEarlyCommittedEntries().map((e) => e.index)).toEqual([a]);
    // Handed out once only.
    expect(core.takeEarlyCommittedEntries()).toEqual([]);

    persist(core, storage, second);
    expect(core.status().applied).toBe(a);
    core.step(ack('n2', a + 1));
    const third = core.ready();
    expect(third.committedEntries.map((e) => e.index)).toEqual([a + 1]);
  });

  it("keeps a follower's committed entries that are still in the write for after it", () => {
    const storage = MemoryStorage.bootstrap(membership);
    const core = newCore('n2', storage);
    const append = (
      prevLogIndex: number,
      commit: number,
      index: number,
    ): Parameters<RaftCore['step']>[0] => ({
      type: 'append',
      from: 'n1',
      to: 'n2',
      term: 1,
      prevLogIndex,
      prevLogTerm: prevLogIndex === 0 ? 0 : 1,
      commit,
      entries: [{ kind: 'noop', index, term: 1 }],
    });
    core.step(append(0, 0, 1));
    persist(core, storage, core.ready());
    core.step(append(1, 0, 2));
    const second = core.ready();
    expect(second.entries.map((e) => e.index)).toEqual([2]);
    // The leader's commit reaches 2 while entry 2 is being written: entry 1 (durable) may be
    // applied now, entry 2 only once its write is done.
    core.step({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 2, readSeq: 0 });
    expect(core.takeEarlyCommittedEntries().map((e) => e.index)).toEqual([1]);
    persist(core, storage, second);
    expect(core.ready().committedEntries.map((e) => e.index)).toEqual([2]);
  });
});
