import type { Message } from '../../src/core/index';
import { isWellFormedMessage } from '../../src/core/index';

const membership = { voters: ['n1', 'n2', 'n3'], learners: [] };
const bytes = new Uint8Array([1, 2]);

const VALID: Record<Message['type'], Message> = {
  preVote: {
    type: 'preVote',
    from: 'n1',
    to: 'n2',
    term: 2,
    lastLogIndex: 5,
    lastLogTerm: 1,
    reason: 'election',
  },
  preVoteResponse: { type: 'preVoteResponse', from: 'n2', to: 'n1', term: 2, reject: false },
  vote: { type: 'vote', from: 'n1', to: 'n2', term: 2, lastLogIndex: 5, lastLogTerm: 1, reason: 'transfer' },
  voteResponse: { type: 'voteResponse', from: 'n2', to: 'n1', term: 2, reject: true },
  append: {
    type: 'append',
    from: 'n1',
    to: 'n2',
    term: 3,
    prevLogIndex: 4,
    prevLogTerm: 2,
    entries: [
      { kind: 'command', index: 5, term: 2, data: bytes },
      { kind: 'noop', index: 6, term: 3 },
      { kind: 'config', index: 7, term: 3, membership, change: { type: 'remove', node: 'n4' } },
    ],
    commit: 4,
  },
  appendResponse: {
    type: 'appendResponse',
    from: 'n2',
    to: 'n1',
    term: 3,
    reject: true,
    index: 6,
    hintIndex: 4,
    hintTerm: 2,
  },
  heartbeat: { type: 'heartbeat', from: 'n1', to: 'n2', term: 3, commit: 4, readSeq: 2 },
  heartbeatResponse: { type: 'heartbeatResponse', from: 'n2', to: 'n1', term: 3, readSeq: 2 },
  snapshot: {
    type: 'snapshot',
    from: 'n1',
    to: 'n2',
    term: 3,
    snapshot: { meta: { index: 9, term: 3, membership }, data: bytes },
  },
  timeoutNow: { type: 'timeoutNow', from: 'n1', to: 'n2', term: 3 },
};

/** mutate returns a copy of the valid message of `type` with `changes` applied (undefined deletes). */
function mutate(type: Message['type'], changes: Record<string, unknown>): unknown {
  const m: Record<string, unknown> = { ...VALID[type] };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete m[k];
    else m[k] = v;
  }
  return m;
}

const appendWith = (entries: unknown[], extra: Record<string, unknown> = {}): unknown =>
  mutate('append', { entries, ...extra });

describe('isWellFormedMessage', () => {
  it.each(Object.keys(VALID))('accepts a well-formed %s', (type) => {
    expect(isWellFormedMessage(VALID[type as Message['type']])).toBe(true);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'append'],
    ['an array', []],
    ['an unknown type', mutate('heartbeat', { type: 'gossip' })],
    ['a missing type', mutate('heartbeat', { type: undefined })],
    ['an empty sender', mutate('heartbeat', { from: '' })],
    ['a numeric sender', mutate('heartbeat', { from: 7 })],
    ['a missing receiver', mutate('heartbeat', { to: undefined })],
    ['a sender id longer than 256 characters', mutate('heartbeat', { from: 'x'.repeat(257) })],
    ['a negative term', mutate('heartbeat', { term: -1 })],
    ['a fractional term', mutate('heartbeat', { term: 1.5 })],
    ['a term beyond the safe integers', mutate('heartbeat', { term: 2 ** 53 })],
    ['a term given as a string', mutate('heartbeat', { term: '3' })],
    ['a NaN commit', mutate('heartbeat', { commit: Number.NaN })],
    ['a heartbeat without readSeq', mutate('heartbeat', { readSeq: undefined })],
    ['a heartbeat response without readSeq', mutate('heartbeatResponse', { readSeq: undefined })],
    ['a pre-vote with an unknown reason', mutate('preVote', { reason: 'because' })],
    ['a vote without lastLogTerm', mutate('vote', { lastLogTerm: undefined })],
    ['a vote with a negative lastLogIndex', mutate('vote', { lastLogIndex: -2 })],
    ['a vote response whose reject is not a boolean', mutate('voteResponse', { reject: 'no' })],
    ['a pre-vote response without reject', mutate('preVoteResponse', { reject: undefined })],
    ['an append response without a hint', mutate('appendResponse', { hintIndex: undefined })],
    ['an append response with a negative index', mutate('appendResponse', { index: -1 })],
    ['an append whose entries are not an array', mutate('append', { entries: {} })],
    ['an append whose prevLogTerm is above its term', mutate('append', { prevLogTerm: 4 })],
    ['an append without commit', mutate('append', { commit: undefined })],
    ['an append whose entries skip an index', appendWith([{ kind: 'noop', index: 6, term: 3 }])],
    [
      'an append whose entries go back an index',
      appendWith([
        { kind: 'noop', index: 5, term: 3 },
        { kind: 'noop', index: 5, term: 3 },
      ]),
    ],
    [
      'an append whose entry terms decrease',
      appendWith([
        { kind: 'noop', index: 5, term: 3 },
        { kind: 'noop', index: 6, term: 2 },
      ]),
    ],
    ['an append with an entry below prevLogTerm', appendWith([{ kind: 'noop', index: 5, term: 1 }])],
    [
      'an append with an entry of a later term than the message',
      appendWith([{ kind: 'noop', index: 5, term: 4 }]),
    ],
    [
      'an append with an entry at index 0',
      appendWith([{ kind: 'noop', index: 0, term: 3 }], { prevLogIndex: 0, prevLogTerm: 0 }),
    ],
    [
      'an append with an entry of term 0',
      appendWith([{ kind: 'noop', index: 5, term: 0 }], { prevLogTerm: 0 }),
    ],
    ['an append with an entry of unknown kind', appendWith([{ kind: 'weird', index: 5, term: 3 }])],
    [
      'an append with a command whose data is not bytes',
      appendWith([{ kind: 'command', index: 5, term: 3, data: 'x' }]),
    ],
    [
      'an append with a config entry without a change',
      appendWith([{ kind: 'config', index: 5, term: 3, membership }]),
    ],
    [
      'an append with a config entry of an unknown change',
      appendWith([{ kind: 'config', index: 5, term: 3, membership, change: { type: 'swap', node: 'n4' } }]),
    ],
    [
      'an append with a config entry whose voters are not ids',
      appendWith([
        {
          kind: 'config',
          index: 5,
          term: 3,
          membership: { voters: [1], learners: [] },
          change: { type: 'remove', node: 'n4' },
        },
      ]),
    ],
    ['an append with a null entry', appendWith([null])],
    [
      'a snapshot without data',
      mutate('snapshot', { snapshot: { meta: { index: 9, term: 3, membership } } }),
    ],
    [
      'a snapshot whose data is not bytes',
      mutate('snapshot', { snapshot: { meta: { index: 9, term: 3, membership }, data: [1, 2] } }),
    ],
    [
      'a snapshot of a later term than the message',
      mutate('snapshot', { snapshot: { meta: { index: 9, term: 4, membership }, data: bytes } }),
    ],
    [
      'a snapshot without a membership',
      mutate('snapshot', { snapshot: { meta: { index: 9, term: 3 }, data: bytes } }),
    ],
  ])('rejects %s', (_title, message) => {
    expect(isWellFormedMessage(message)).toBe(false);
  });
});

/**
 * Regression: the checker once validated only the shape of a membership, not its meaning,
 * although types.ts promises that "an id is in at most one of the two lists" and membership.ts
 * bounds the voters at VOTERS_MAX. A membership
 * that lists a voter twice is dangerous: quorumSize and tallyVotes count list entries, so a
 * node listed three times among five entries wins an election with its own vote alone.
 */
describe('isWellFormedMessage: membership semantics', () => {
  const configEntry = (m: unknown): unknown =>
    appendWith([
      { kind: 'config', index: 5, term: 3, membership: m, change: { type: 'remove', node: 'n4' } },
    ]);
  const snapshotWith = (m: unknown): unknown =>
    mutate('snapshot', { snapshot: { meta: { index: 9, term: 3, membership: m }, data: bytes } });

  it.each<[string, unknown]>([
    [
      'a config entry that lists a voter twice',
      configEntry({ voters: ['n1', 'n1', 'n1', 'n2', 'n3'], learners: [] }),
    ],
    [
      'a config entry with a node both voter and learner',
      configEntry({ voters: ['n1', 'n2'], learners: ['n2'] }),
    ],
    ['a config entry with no voters', configEntry({ voters: [], learners: [] })],
    [
      'a config entry with more than VOTERS_MAX voters',
      configEntry({ voters: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], learners: [] }),
    ],
    [
      'a snapshot whose membership lists a voter twice',
      snapshotWith({ voters: ['n1', 'n1', 'n2'], learners: [] }),
    ],
  ])('rejects %s', (_title, message) => {
    expect(isWellFormedMessage(message)).toBe(false);
  });
});

describe('isWellFormedMessage: membership address books', () => {
  const snapshotWith = (membership: unknown): unknown => ({
    type: 'snapshot',
    from: 'n1',
    to: 'n2',
    term: 2,
    snapshot: { meta: { index: 9, term: 2, membership }, data: new Uint8Array(0) },
  });

  it('accepts an address book that names members with host:port', () => {
    expect(
      isWellFormedMessage(
        snapshotWith({ voters: ['n1', 'n2'], learners: ['n4'], addresses: { n4: '127.0.0.1:7104' } }),
      ),
    ).toBe(true);
  });

  it.each([
    ['names a non-member', { voters: ['n1', 'n2'], learners: [], addresses: { n9: '127.0.0.1:7109' } }],
    [
      'has an address without a port',
      { voters: ['n1', 'n2'], learners: ['n4'], addresses: { n4: 'localhost' } },
    ],
    ['is not an object', { voters: ['n1', 'n2'], learners: [], addresses: ['127.0.0.1:1'] }],
  ])('rejects an address book that %s', (_what, membership) => {
    expect(isWellFormedMessage(snapshotWith(membership))).toBe(false);
  });
});

describe('isWellFormedMessage: client address books', () => {
  const appendWith = (membership: unknown, change: unknown): unknown => ({
    ...VALID.append,
    entries: [{ kind: 'config', index: 5, term: 3, membership, change }],
  });
  const added = { type: 'addLearner', node: 'n4', address: '127.0.0.1:7104' };

  it('accepts a config entry written before the client address books existed', () => {
    expect(
      isWellFormedMessage(
        appendWith({ voters: ['n1', 'n2'], learners: ['n4'], addresses: { n4: '127.0.0.1:7104' } }, added),
      ),
    ).toBe(true);
  });

  it('accepts client address books that name members with host:port', () => {
    expect(
      isWellFormedMessage(
        appendWith(
          {
            voters: ['n1', 'n2'],
            learners: ['n4'],
            addresses: { n4: '127.0.0.1:7104' },
            clientAddresses: { n4: '127.0.0.1:7204' },
            grpcAddresses: { n4: '127.0.0.1:7304' },
          },
          { ...added, clientAddress: '127.0.0.1:7204', grpcAddress: '127.0.0.1:7304' },
        ),
      ),
    ).toBe(true);
  });

  it.each([
    ['a client book naming a non-member', { clientAddresses: { n9: '127.0.0.1:7209' } }, added],
    ['a gRPC book with an address without a port', { grpcAddresses: { n4: 'localhost' } }, added],
    ['a change with a malformed client address', {}, { ...added, clientAddress: 'nowhere' }],
    ['a change with a malformed gRPC address', {}, { ...added, grpcAddress: 'h:1:2' }],
  ])('rejects %s', (_what, books, change) => {
    expect(
      isWellFormedMessage(appendWith({ voters: ['n1', 'n2'], learners: ['n4'], ...books }, change)),
    ).toBe(false);
  });
});
