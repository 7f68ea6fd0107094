import type { RaftNodeStatus } from '@omnirelay/raft';
import type { PeersInput } from '../../src/cluster/peers-view';
import { PEER_LAG_ENTRIES_MAX, parsePeersFilter, peersView } from '../../src/cluster/peers-view';
import { isServerError } from '../../src/errors/error-table';

/** leaderStatus is n1 leading n2 (healthy), n3 (link down, far behind) and learner n4 (clock off). */
const leaderStatus = {
  id: 'n1',
  leader: 'n1',
  term: 4,
  lastIndex: 5000,
  peerAddress: '127.0.0.1:7101',
  membership: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] },
  staleMembers: {},
  peers: {
    n2: { address: '127.0.0.1:7102', connected: true, queued: 0, snapshotInFlight: false, clockOffsetMs: 3 },
    n3: {
      address: '127.0.0.1:7103',
      connected: false,
      queued: 0,
      snapshotInFlight: false,
      clockOffsetMs: null,
    },
    n4: {
      address: '127.0.0.1:7104',
      connected: true,
      queued: 0,
      snapshotInFlight: false,
      clockOffsetMs: -900,
    },
  },
  progress: {
    n1: { match: 5000, next: 5001, state: 'replicate' },
    n2: { match: 4990, next: 4991, state: 'replicate' },
    n3: { match: 5000 - PEER_LAG_ENTRIES_MAX - 1, next: 3000, state: 'probe' },
    n4: { match: 5000, next: 5001, state: 'replicate' },
  },
} as unknown as RaftNodeStatus;

const input: PeersInput = {
  status: leaderStatus,
  version: '1.2.3',
  disk: {
    dataDir: '/d',
    freeBytes: 42,
    totalBytes: 100,
    freeBytesMin: 0,
    low: false,
    checkedAt: null,
    error: null,
  },
  clientAddresses: (id) => ({
    http: id === 'n3' ? undefined : `127.0.0.1:72${id.slice(1).padStart(2, '0')}`,
    grpc: `127.0.0.1:73${id.slice(1).padStart(2, '0')}`,
  }),
  selfAddresses: { http: '127.0.0.1:7201', grpc: '127.0.0.1:7301' },
  skewMsMax: 250,
};

describe('peersView', () => {
  it('lists every member with role, addresses, link, progress, clock offset and the reasons it is unhealthy', () => {
    const view = peersView(input);
    expect(view.map((p) => [p.id, p.role, p.link, p.lagEntries, p.healthy, p.problems])).toEqual([
      ['n1', 'leader', 'self', 0, true, []],
      ['n2', 'voter', 'up', 10, true, []],
      [
        'n3',
        'voter',
        'down',
        PEER_LAG_ENTRIES_MAX + 1,
        false,
        ['link down', `${PEER_LAG_ENTRIES_MAX + 1} entries behind`],
      ],
      ['n4', 'learner', 'up', 0, false, ['clock offset -900 ms beyond 250 ms']],
    ]);
    expect(view[0]).toMatchObject({
      self: true,
      addresses: { peer: '127.0.0.1:7101', client: '127.0.0.1:7201', grpc: '127.0.0.1:7301' },
      version: '1.2.3',
      diskFreeBytes: 42,
      clockOffsetMs: 0,
    });
    expect(view[2]).toMatchObject({
      addresses: { peer: '127.0.0.1:7103', client: null, grpc: '127.0.0.1:7303' },
      version: null,
      diskFreeBytes: null,
      replication: 'probe',
    });
  });

  it('filters by role and by health', () => {
    expect(peersView(input, { roles: ['learner', 'leader'] }).map((p) => p.id)).toEqual(['n1', 'n4']);
    expect(peersView(input, { unhealthyOnly: true }).map((p) => p.id)).toEqual(['n3', 'n4']);
  });

  it('marks the answering node unhealthy when its disk is low, and shows no progress when a follower answers', () => {
    const follower = { ...leaderStatus, id: 'n2', progress: {} } as unknown as RaftNodeStatus;
    const view = peersView({ ...input, status: follower, disk: { ...input.disk!, low: true } });
    expect(view.find((p) => p.id === 'n2')).toMatchObject({
      self: true,
      healthy: false,
      problems: ['disk low'],
    });
    expect(view.find((p) => p.id === 'n1')).toMatchObject({
      match: null,
      lagEntries: null,
      replication: null,
    });
  });
});

describe('parsePeersFilter', () => {
  it('reads role lists and unhealthy', () => {
    expect(parsePeersFilter(new URLSearchParams('role=voter,learner&unhealthy=true'))).toEqual({
      roles: ['voter', 'learner'],
      unhealthyOnly: true,
    });
    expect(parsePeersFilter(new URLSearchParams(''))).toEqual({});
  });

  it.each([
    ['an unknown role', 'role=boss', /role "boss" must be one of leader, voter, learner/],
    ['a bad unhealthy', 'unhealthy=yes', /unhealthy must be true or false/],
  ])('refuses %s as INVALID_ARGUMENT', (_what, query, message) => {
    let caught: unknown;
    try {
      parsePeersFilter(new URLSearchParams(query));
    } catch (e) {
      caught = e;
    }
    expect(isServerError(caught) && caught.code === 'INVALID_ARGUMENT').toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});
