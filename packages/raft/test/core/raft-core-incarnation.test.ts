import type { AppendResponse, Membership, Message } from '../../src/core/index';
import {
  MemoryStorage,
  Mulberry32,
  RAFT_CONFIG_DEFAULTS,
  RaftCore,
  applyConfigChange,
} from '../../src/core/index';
import { settle } from '../support/core-driver';

const voters = ['n1', 'n2', 'n3'];

function newCore(id: string, storage: MemoryStorage, extra: { requireBinding?: boolean } = {}): RaftCore {
  return new RaftCore({
    ...RAFT_CONFIG_DEFAULTS,
    id,
    storage,
    rng: new Mulberry32(7),
    electionTicks: 10,
    heartbeatTicks: 2,
    incarnation: `${id}-a`,
    ...extra,
  });
}

const ack = (from: string, index: number, incarnation: string, reject = false): AppendResponse => ({
  type: 'appendResponse',
  from,
  to: 'n1',
  term: 1,
  reject,
  index,
  hintIndex: reject ? 1 : 0,
  hintTerm: 0,
  incarnation,
});

/** electedN1 is n1 just elected at term 1 by n2's votes (incarnation n2-a), nothing bound yet. */
function electedN1(): { core: RaftCore; storage: MemoryStorage } {
  const storage = MemoryStorage.bootstrap({ voters, learners: [] });
  const core = newCore('n1', storage);
  core.campaign();
  settle(core, storage);
  core.step({ type: 'preVoteResponse', from: 'n2', to: 'n1', term: 1, reject: false, incarnation: 'n2-a' });
  settle(core, storage);
  core.step({ type: 'voteResponse', from: 'n2', to: 'n1', term: 1, reject: false, incarnation: 'n2-a' });
  return { core, storage };
}

/**
 * boundLeader makes n1 the leader of term 1 of a new cluster and lets it bind n1, n2 and n3 to
 * incarnations `<id>-a` (once all three were heard; one bind per commit), every member
 * acknowledging everything.
 */
function boundLeader(): { core: RaftCore; storage: MemoryStorage } {
  const { core, storage } = electedN1();
  expect(core.status().role).toBe('leader');
  for (let round = 0; round < 10; round++) {
    // A heartbeat interval: the leader looks for voters to bind on each one too.
    core.tick();
    core.tick();
    settle(core, storage);
    const last = core.status().lastIndex;
    core.step(ack('n2', last, 'n2-a'));
    core.step(ack('n3', last, 'n3-a'));
    settle(core, storage);
  }
  return { core, storage };
}

describe('RaftCore incarnations (a member that lost its disk cannot vote or be counted)', () => {
  it('stamps its incarnation on every message it sends', () => {
    const storage = MemoryStorage.bootstrap({ voters, learners: [] });
    const core = newCore('n1', storage);
    core.campaign();
    const sent = settle(core, storage);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((m) => m.incarnation === 'n1-a')).toBe(true);
  });

  it('binds every voter of a new cluster as their messages arrive, one change at a time', () => {
    const { core } = boundLeader();
    expect(core.status().membership.incarnations).toEqual({ n1: 'n1-a', n2: 'n2-a', n3: 'n3-a' });
    expect(core.status().commit).toBe(core.status().lastIndex);
  });

  it('binds nobody while a member sends no incarnation (a version without them, mid rolling upgrade)', () => {
    const { core, storage } = electedN1();
    const round = (n3Incarnation: string | undefined): void => {
      core.tick();
      core.tick();
      settle(core, storage);
      const last = core.status().lastIndex;
      core.step(ack('n2', last, 'n2-a'));
      const { incarnation: _omitted, ...withoutIncarnation } = ack('n3', last, 'n3-a');
      core.step(n3Incarnation === undefined ? withoutIncarnation : ack('n3', last, n3Incarnation));
      settle(core, storage);
    };
    for (let r = 0; r < 5; r++) round(undefined);
    expect(core.status().membership.incarnations).toBeUndefined();
    for (let r = 0; r < 10; r++) round('n3-a');
    expect(core.status().membership.incarnations).toEqual({ n1: 'n1-a', n2: 'n2-a', n3: 'n3-a' });
  });

  it("does not count a bound member's acknowledgements from another incarnation toward commit", () => {
    const { core, storage } = boundLeader();
    core.propose(Buffer.from('x'));
    settle(core, storage);
    const index = core.status().lastIndex;
    core.step(ack('n3', index, 'n3-b'));
    settle(core, storage);
    expect(core.status().commit).toBe(index - 1);
    expect(core.status().staleMembers).toEqual({ n3: 'n3-b' });
    core.step(ack('n2', index, 'n2-a'));
    settle(core, storage);
    expect(core.status().commit).toBe(index);
  });

  it('steps down on check-quorum when only members of another incarnation answer', () => {
    const { core, storage } = boundLeader();
    for (let t = 0; t < 25; t++) {
      core.tick();
      settle(core, storage);
      for (const from of ['n2', 'n3']) {
        core.step({
          type: 'heartbeatResponse',
          from,
          to: 'n1',
          term: 1,
          readSeq: 0,
          incarnation: `${from}-b`,
        });
      }
    }
    expect(core.status().role).toBe('follower');
  });

  it('refuses a vote request from a member of another incarnation, whatever its term', () => {
    const storage = MemoryStorage.bootstrap({
      voters,
      learners: [],
      incarnations: { n1: 'n1-a', n2: 'n2-a', n3: 'n3-a' },
    });
    const core = newCore('n1', storage);
    const sent: Message[] = [];
    core.step({
      type: 'vote',
      from: 'n3',
      to: 'n1',
      term: 9,
      lastLogIndex: 100,
      lastLogTerm: 9,
      reason: 'election',
      incarnation: 'n3-b',
    });
    sent.push(...settle(core, storage));
    expect(core.status().term).toBe(0);
    expect(sent).toEqual([]);
  });

  it("does not count a candidate's vote grant from a member of another incarnation", () => {
    const storage = MemoryStorage.bootstrap({
      voters,
      learners: [],
      incarnations: { n1: 'n1-a', n2: 'n2-a', n3: 'n3-a' },
    });
    const core = newCore('n1', storage);
    core.campaign();
    settle(core, storage);
    core.step({ type: 'preVoteResponse', from: 'n3', to: 'n1', term: 1, reject: false, incarnation: 'n3-b' });
    settle(core, storage);
    expect(core.status().role).toBe('preCandidate');
    core.step({ type: 'preVoteResponse', from: 'n2', to: 'n1', term: 1, reject: false, incarnation: 'n2-a' });
    settle(core, storage);
    expect(core.status().role).toBe('candidate');
  });

  it('neither campaigns nor votes while its configuration binds it to another incarnation', () => {
    const storage = MemoryStorage.bootstrap({
      voters,
      learners: [],
      incarnations: { n1: 'n1-old', n2: 'n2-a', n3: 'n3-a' },
    });
    const core = newCore('n1', storage);
    for (let t = 0; t < 50; t++) core.tick();
    core.campaign();
    expect(settle(core, storage).filter((m) => m.type === 'preVote')).toEqual([]);
    core.step({
      type: 'vote',
      from: 'n2',
      to: 'n1',
      term: 1,
      lastLogIndex: 5,
      lastLogTerm: 1,
      reason: 'election',
      incarnation: 'n2-a',
    });
    const answers = settle(core, storage);
    expect(answers).toEqual([expect.objectContaining({ type: 'voteResponse', reject: true })]);
  });

  it('created empty to join, votes only once bound to itself or listed as a learner', () => {
    const request = (term: number): Message => ({
      type: 'vote',
      from: 'n2',
      to: 'n3',
      term,
      lastLogIndex: 0,
      lastLogTerm: 0,
      reason: 'election',
      incarnation: 'n2-a',
    });
    const grants = (m: Membership): boolean => {
      const storage = MemoryStorage.bootstrap(m);
      const core = newCore('n3', storage, { requireBinding: true });
      core.step(request(1));
      return settle(core, storage).some((x) => x.type === 'voteResponse' && !x.reject);
    };
    expect(grants({ voters: [], learners: [] })).toBe(false);
    expect(grants({ voters, learners: [] })).toBe(false);
    expect(grants({ voters, learners: [], incarnations: { n3: 'n3-old' } })).toBe(false);
    expect(grants({ voters: ['n1', 'n2'], learners: ['n3'] })).toBe(true);
    expect(grants({ voters, learners: [], incarnations: { n3: 'n3-a' } })).toBe(true);
  });

  it('binds a promoted learner to the incarnation that caught up', () => {
    const { core, storage } = boundLeader();
    expect(core.proposeConfigChange({ type: 'addLearner', node: 'n4' }).ok).toBe(true);
    settle(core, storage);
    const last = core.status().lastIndex;
    core.step(ack('n2', last, 'n2-a'));
    core.step(ack('n4', last, 'n4-a'));
    settle(core, storage);
    expect(core.proposeConfigChange({ type: 'promote', node: 'n4' }).ok).toBe(true);
    expect(core.status().membership.incarnations?.['n4']).toBe('n4-a');
  });

  it("forgets what an unbound member's previous incarnation acknowledged", () => {
    const { core, storage } = boundLeader();
    expect(core.proposeConfigChange({ type: 'addLearner', node: 'n4' }).ok).toBe(true);
    settle(core, storage);
    const last = core.status().lastIndex;
    core.step(ack('n4', last, 'n4-a'));
    expect(core.status().progress['n4']?.match).toBe(last);
    core.step(ack('n4', 0, 'n4-b', true));
    expect(core.status().progress['n4']?.match).toBe(0);
  });
});

describe('applyConfigChange with incarnations', () => {
  const m: Membership = { voters: ['n1', 'n2'], learners: ['n3'], incarnations: { n1: 'n1-a' } };

  it('binds an unbound member once, and refuses to bind it again', () => {
    const bound = applyConfigChange(m, { type: 'bind', node: 'n2', incarnation: 'n2-a' });
    expect(bound).toEqual({
      ok: true,
      membership: { voters: ['n1', 'n2'], learners: ['n3'], incarnations: { n1: 'n1-a', n2: 'n2-a' } },
    });
    expect(applyConfigChange(m, { type: 'bind', node: 'n1', incarnation: 'n1-b' })).toMatchObject({
      ok: false,
    });
    expect(applyConfigChange(m, { type: 'bind', node: 'n9', incarnation: 'n9-a' })).toMatchObject({
      ok: false,
    });
    expect(applyConfigChange(m, { type: 'bind', node: 'n2', incarnation: 'bad incarnation' })).toMatchObject({
      ok: false,
    });
  });

  it('binds on promotion and unbinds on removal, leaving no empty book behind', () => {
    const promoted = applyConfigChange(m, { type: 'promote', node: 'n3', incarnation: 'n3-a' });
    expect(promoted.ok && promoted.membership.incarnations).toEqual({ n1: 'n1-a', n3: 'n3-a' });
    const removed = applyConfigChange(m, { type: 'remove', node: 'n1' });
    expect(removed).toEqual({ ok: true, membership: { voters: ['n2'], learners: ['n3'] } });
  });
});
