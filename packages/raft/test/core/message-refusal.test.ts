import type { Message, MessageRefusalReason, Ready } from '../../src/core/index';
import {
  INDEX_MAX,
  MemoryStorage,
  Mulberry32,
  RAFT_CONFIG_DEFAULTS,
  RaftCore,
  TERM_JUMP_MAX,
  TERM_MAX,
  TERM_SAFETY_MARGIN,
  refuseMessage,
} from '../../src/core/index';

const membership = { voters: ['n1', 'n2', 'n3'], learners: [] };
const LARGEST = Number.MAX_SAFE_INTEGER;

function heartbeat(term: number, changes: Partial<Record<'commit' | 'readSeq', number>> = {}): Message {
  return { type: 'heartbeat', from: 'n2', to: 'n1', term, commit: 0, readSeq: 0, ...changes };
}

/** rejection is n2's rejection of an append at index 1, with a hint. */
function rejection(hintIndex: number, hintTerm: number): Message {
  return {
    type: 'appendResponse',
    from: 'n2',
    to: 'n1',
    term: 2,
    reject: true,
    index: 1,
    hintIndex,
    hintTerm,
  };
}

describe('refuseMessage', () => {
  it('keeps half the term space as the safety margin below the largest exact integer', () => {
    expect(TERM_MAX).toBe(2 ** 52 - 1);
    expect(TERM_MAX + TERM_SAFETY_MARGIN).toBe(LARGEST);
    expect(INDEX_MAX).toBe(2 ** 52 - 1);
    expect(TERM_JUMP_MAX).toBe(2 ** 32);
  });

  it('accepts an ordinary message, and the largest usable term when it is within a jump of ours', () => {
    expect(refuseMessage(heartbeat(3, { commit: 10, readSeq: 2 }), 'n1', 2)).toBeUndefined();
    expect(refuseMessage(heartbeat(TERM_MAX), 'n1', TERM_MAX - 1)).toBeUndefined();
    expect(refuseMessage(heartbeat(TERM_JUMP_MAX), 'n1', 0)).toBeUndefined();
    // A stale message is Raft's business (it answers with its term), not a refusal.
    expect(refuseMessage(heartbeat(1), 'n1', 5)).toBeUndefined();
  });

  it('refuses a heartbeat at term 2^53 - 1, and every term above TERM_MAX, whatever our term', () => {
    for (const [term, ours] of [
      [LARGEST, 1],
      [LARGEST, LARGEST - 1],
      [TERM_MAX + 1, TERM_MAX],
    ] as const) {
      expect(refuseMessage(heartbeat(term), 'n1', ours)?.reason).toBe('termUnusable');
    }
  });

  it('refuses a term above TERM_MAX in any term field: lastLogTerm of a (pre-)vote, hintTerm of an answer', () => {
    const preVote: Message = {
      type: 'preVote',
      from: 'n2',
      to: 'n1',
      term: 2,
      lastLogIndex: 1,
      lastLogTerm: LARGEST,
      reason: 'election',
    };
    const answer = rejection(1, TERM_MAX + 1);
    expect(refuseMessage(preVote, 'n1', 1)?.reason).toBe('termUnusable');
    expect(refuseMessage({ ...preVote, type: 'vote' }, 'n1', 1)?.reason).toBe('termUnusable');
    expect(refuseMessage(answer, 'n1', 1)?.reason).toBe('termUnusable');
  });

  it('refuses a term more than TERM_JUMP_MAX above ours, and says by how much in its detail', () => {
    const refused = refuseMessage(heartbeat(5 + TERM_JUMP_MAX + 1), 'n1', 5);
    expect(refused?.reason).toBe('termJump');
    expect(refused?.detail).toContain(`above our term 5`);
    expect(refuseMessage(heartbeat(5 + TERM_JUMP_MAX), 'n1', 5)).toBeUndefined();
    const preVote: Message = {
      type: 'preVote',
      from: 'n3',
      to: 'n1',
      term: TERM_JUMP_MAX + 2,
      lastLogIndex: 0,
      lastLogTerm: 0,
      reason: 'leaderUnreachable',
    };
    expect(refuseMessage(preVote, 'n1', 1)?.reason).toBe('termJump');
  });

  it.each([
    ['a heartbeat commit', heartbeat(2, { commit: INDEX_MAX + 1 })],
    ['a heartbeat read round', heartbeat(2, { readSeq: LARGEST })],
    [
      'a heartbeat response read round',
      { type: 'heartbeatResponse', from: 'n2', to: 'n1', term: 2, readSeq: LARGEST },
    ],
    [
      'a vote lastLogIndex',
      {
        type: 'vote',
        from: 'n2',
        to: 'n1',
        term: 2,
        lastLogIndex: LARGEST,
        lastLogTerm: 1,
        reason: 'election',
      },
    ],
    [
      'an append prevLogIndex',
      {
        type: 'append',
        from: 'n2',
        to: 'n1',
        term: 2,
        prevLogIndex: LARGEST,
        prevLogTerm: 1,
        entries: [],
        commit: 0,
      },
    ],
    [
      'an append commit',
      {
        type: 'append',
        from: 'n2',
        to: 'n1',
        term: 2,
        prevLogIndex: 0,
        prevLogTerm: 0,
        entries: [],
        commit: LARGEST,
      },
    ],
    [
      'the last entry of an append',
      {
        type: 'append',
        from: 'n2',
        to: 'n1',
        term: 2,
        prevLogIndex: INDEX_MAX,
        prevLogTerm: 2,
        entries: [{ kind: 'noop', index: INDEX_MAX + 1, term: 2 }],
        commit: 0,
      },
    ],
    [
      'an append response index',
      {
        type: 'appendResponse',
        from: 'n2',
        to: 'n1',
        term: 2,
        reject: false,
        index: LARGEST,
        hintIndex: 0,
        hintTerm: 0,
      },
    ],
    ['an append response hint', rejection(LARGEST, 0)],
    [
      'a snapshot index',
      {
        type: 'snapshot',
        from: 'n2',
        to: 'n1',
        term: 2,
        snapshot: { meta: { index: LARGEST, term: 2, membership }, data: new Uint8Array(0) },
      },
    ],
  ] as const)('refuses an index above INDEX_MAX in %s', (_what, message) => {
    expect(refuseMessage(message, 'n1', 2)?.reason).toBe('indexUnusable');
  });

  it('refuses a malformed message and one not addressed to us or sent by us', () => {
    expect(refuseMessage({ type: 'heartbeat', from: 'n2', to: 'n1', term: 2 ** 53 }, 'n1', 1)?.reason).toBe(
      'malformed',
    );
    expect(refuseMessage(heartbeat(2), 'n3', 1)?.reason).toBe('misaddressed');
    expect(refuseMessage({ ...heartbeat(2), from: 'n1' }, 'n1', 1)?.reason).toBe('misaddressed');
  });
});

describe('RaftCore.step with a message refused on sight', () => {
  function newCore(storage: MemoryStorage): RaftCore {
    return new RaftCore({
      ...RAFT_CONFIG_DEFAULTS,
      id: 'n1',
      storage,
      rng: new Mulberry32(3),
      electionTicks: 10,
      heartbeatTicks: 2,
    });
  }

  /** settle completes every Ready the way the runtime does, and returns them. */
  function settle(core: RaftCore, storage: MemoryStorage): Ready[] {
    const readys: Ready[] = [];
    for (let i = 0; i < 20 && core.hasReady(); i++) {
      const rd = core.ready();
      readys.push(rd);
      if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
      storage.append(rd.entries);
      core.advance();
    }
    return readys;
  }

  /** follower returns n1 following n2 at term 4, with entries 1..2 committed. */
  function follower(): { core: RaftCore; storage: MemoryStorage } {
    const storage = MemoryStorage.bootstrap(membership);
    const core = newCore(storage);
    core.step({
      type: 'append',
      from: 'n2',
      to: 'n1',
      term: 4,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [
        { kind: 'noop', index: 1, term: 4 },
        { kind: 'command', index: 2, term: 4, data: new Uint8Array([1]) },
      ],
      commit: 2,
    });
    settle(core, storage);
    expect(core.status()).toMatchObject({ role: 'follower', leader: 'n2', term: 4, commit: 2 });
    return { core, storage };
  }

  const forged: ReadonlyArray<readonly [string, MessageRefusalReason, Message]> = [
    // The message of issue 22: a heartbeat claiming the largest exact term.
    [
      'a heartbeat at term 2^53 - 1 from another member (issue 22)',
      'termUnusable',
      { type: 'heartbeat', from: 'n3', to: 'n1', term: LARGEST, commit: 2, readSeq: 0 },
    ],
    [
      'TimeoutNow from its leader just above TERM_MAX',
      'termUnusable',
      { type: 'timeoutNow', from: 'n2', to: 'n1', term: TERM_MAX + 1 },
    ],
    [
      'a transfer vote at term 2^53 - 1',
      'termUnusable',
      {
        type: 'vote',
        from: 'n3',
        to: 'n1',
        term: LARGEST,
        lastLogIndex: 9,
        lastLogTerm: 9,
        reason: 'transfer',
      },
    ],
    [
      'a heartbeat one past the largest jump',
      'termJump',
      { type: 'heartbeat', from: 'n3', to: 'n1', term: 4 + TERM_JUMP_MAX + 1, commit: 2, readSeq: 0 },
    ],
    [
      'an append at TERM_MAX from a non-member',
      'termJump',
      {
        type: 'append',
        from: 'x9',
        to: 'n1',
        term: TERM_MAX,
        prevLogIndex: 2,
        prevLogTerm: 4,
        entries: [{ kind: 'noop', index: 3, term: TERM_MAX }],
        commit: 3,
      },
    ],
    [
      'a snapshot at index 2^53 - 1 from its leader',
      'indexUnusable',
      {
        type: 'snapshot',
        from: 'n2',
        to: 'n1',
        term: 4,
        snapshot: { meta: { index: LARGEST, term: 4, membership }, data: new Uint8Array(0) },
      },
    ],
    [
      'a heartbeat of a newer term with commit 2^53 - 1',
      'indexUnusable',
      { type: 'heartbeat', from: 'n2', to: 'n1', term: 5, commit: LARGEST, readSeq: 0 },
    ],
  ];

  it.each(forged)(
    'refuses %s as %s and changes nothing: term, vote, leader, role, log, output',
    (_what, reason, m) => {
      const { core, storage } = follower();
      const before = core.status();
      expect(core.step(m)?.reason).toBe(reason);
      expect(core.hasReady()).toBe(false);
      expect(settle(core, storage)).toEqual([]);
      expect(core.status()).toEqual(before);
      expect(storage.initialHardState()).toEqual({ term: 4, vote: '', commit: 2 });
    },
  );

  it('keeps following its leader and its election timer after a forged heartbeat at term 2^53 - 1', () => {
    const { core, storage } = follower();
    core.step({ type: 'heartbeat', from: 'n3', to: 'n1', term: LARGEST, commit: 2, readSeq: 0 });
    // The real leader's next heartbeat is taken as usual, at the real term.
    expect(
      core.step({ type: 'heartbeat', from: 'n2', to: 'n1', term: 4, commit: 2, readSeq: 0 }),
    ).toBeUndefined();
    const sent = settle(core, storage).flatMap((rd) => [...rd.earlyMessages, ...rd.messages]);
    expect(sent).toEqual([{ type: 'heartbeatResponse', from: 'n1', to: 'n2', term: 4, readSeq: 0 }]);
    expect(core.status()).toMatchObject({ role: 'follower', leader: 'n2', term: 4 });
  });

  it('returns undefined for a message it acts on, including a stale one', () => {
    const { core } = follower();
    expect(
      core.step({ type: 'heartbeat', from: 'n3', to: 'n1', term: 2, commit: 0, readSeq: 0 }),
    ).toBeUndefined();
    expect(
      core.step({ type: 'heartbeat', from: 'n2', to: 'n1', term: 4, commit: 2, readSeq: 0 }),
    ).toBeUndefined();
  });
});
