import type { Message } from '../../src/core/index';
import {
  ElectionStretch,
  MemoryStorage,
  Mulberry32,
  RAFT_CONFIG_DEFAULTS,
  RaftConfigError,
  RaftCore,
  STRETCH_MEMORY_ELECTIONS,
} from '../../src/core/index';

const membership = { voters: ['n1', 'n2', 'n3'], learners: [] };
const ELECTION_TICKS = 10;
/** SEEDS are enough election-jitter draws to see both sides of every bound. */
const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);

/** follower is n2 of a three-voter cluster, following n1 in term 1 after one heartbeat. */
function follower(
  seed: number,
  extra: { electionStretchTicksMax?: number; logger?: (l: string) => void } = {},
) {
  const core = new RaftCore({
    ...RAFT_CONFIG_DEFAULTS,
    id: 'n2',
    storage: MemoryStorage.bootstrap(membership),
    rng: new Mulberry32(seed),
    electionTicks: ELECTION_TICKS,
    heartbeatTicks: 2,
    ...extra,
  });
  heartbeat(core);
  return core;
}

function heartbeat(core: RaftCore, from = 'n1', term = 1): void {
  core.step({ type: 'heartbeat', from, to: 'n2', term, commit: 0, readSeq: 0 });
  drain(core);
}

/** drain takes every Ready as the runtime would (nothing is persisted that the tests look at) and returns its messages. */
function drain(core: RaftCore): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < 10 && core.hasReady(); i++) {
    const rd = core.ready();
    out.push(...rd.earlyMessages, ...rd.messages);
    core.advance();
  }
  return out;
}

function ticks(core: RaftCore, n: number): void {
  for (let i = 0; i < n; i++) core.tick();
  drain(core);
}

/** ticksToCampaign ticks a silent leader's follower until it campaigns (Infinity past `limit`). */
function ticksToCampaign(core: RaftCore, limit: number): number {
  for (let t = 1; t <= limit; t++) {
    core.tick();
    drain(core);
    if (core.status().role !== 'follower') return t;
  }
  return Infinity;
}

/**
 * preVoteFromN3 hands n2 a pre-vote of n3 for term 2 and says what n2 did: a follower that holds
 * its leader alive ignores it (no answer, as in etcd), otherwise it grants or rejects.
 */
function preVoteFromN3(core: RaftCore): 'granted' | 'rejected' | 'ignored' {
  core.step({
    type: 'preVote',
    from: 'n3',
    to: 'n2',
    term: 2,
    lastLogIndex: 0,
    lastLogTerm: 0,
    reason: 'election',
  });
  const answer = drain(core).find((m) => m.type === 'preVoteResponse');
  if (answer === undefined || answer.type !== 'preVoteResponse') return 'ignored';
  return answer.reject ? 'rejected' : 'granted';
}

describe('ElectionStretch', () => {
  it('stretches by twice the longest gap less an election timeout, from half an election timeout on', () => {
    const s = new ElectionStretch(10, 30);
    s.heardAfter(2);
    s.heardAfter(5);
    expect(s.ticks()).toBe(0);
    s.heardAfter(8);
    expect(s.ticks()).toBe(6);
    s.heardAfter(3);
    expect(s.ticks()).toBe(6);
    s.heardAfter(19);
    expect(s.ticks()).toBe(28);
    s.heardAfter(25);
    expect(s.ticks()).toBe(30);
  });

  it('forgets a gap between one and two memory half-windows after it was seen', () => {
    const half = STRETCH_MEMORY_ELECTIONS * 10;
    const s = new ElectionStretch(10, 30);
    s.tick();
    s.heardAfter(8);
    for (let i = 1; i < half; i++) s.tick();
    expect(s.ticks()).toBe(6); // rotated once: remembered in the older half
    for (let i = 0; i < half - 1; i++) s.tick();
    expect(s.ticks()).toBe(6);
    s.tick();
    expect(s.ticks()).toBe(0);
  });

  it('stretches nothing when its bound is 0', () => {
    const s = new ElectionStretch(10, 0);
    s.heardAfter(9);
    expect(s.ticks()).toBe(0);
  });
});

describe('RaftCore election timeout after a slow but alive leader', () => {
  it('waits at least twice the silence it saw before campaigning, and campaigns within its bound', () => {
    const stretched: number[] = [];
    const plain: number[] = [];
    for (const seed of SEEDS) {
      const core = follower(seed);
      ticks(core, 8);
      heartbeat(core); // the leader was silent for 8 ticks, then went on
      expect(core.status().electionStretchTicks).toBe(6);
      stretched.push(ticksToCampaign(core, 100));

      const off = follower(seed, { electionStretchTicksMax: 0 });
      ticks(off, 8);
      heartbeat(off);
      expect(off.status().electionStretchTicks).toBe(0);
      plain.push(ticksToCampaign(off, 100));
    }
    for (const t of stretched) {
      expect(t).toBeGreaterThanOrEqual(16);
      expect(t).toBeLessThan(2 * ELECTION_TICKS + 6);
    }
    for (const t of plain) {
      expect(t).toBeGreaterThanOrEqual(ELECTION_TICKS);
      expect(t).toBeLessThan(2 * ELECTION_TICKS);
    }
    // Without the stretch, a silence like the one already survived would have deposed the leader.
    expect(plain.some((t) => t < 16)).toBe(true);
  });

  it('keeps refusing pre-votes for the stretched stickiness window, then grants', () => {
    const core = follower(1);
    ticks(core, 8);
    heartbeat(core);
    ticks(core, ELECTION_TICKS + 2); // past the plain window, inside the stretched one (10 + 6)
    expect(preVoteFromN3(core)).toBe('ignored');

    const plain = follower(1, { electionStretchTicksMax: 0 });
    ticks(plain, 8);
    heartbeat(plain);
    ticks(plain, ELECTION_TICKS + 2);
    expect(preVoteFromN3(plain)).toBe('granted');

    const later = follower(1);
    ticks(later, 8);
    heartbeat(later);
    ticks(later, ELECTION_TICKS + 6);
    expect(preVoteFromN3(later)).toBe('granted');
  });

  it('does not count the wait for a new leader of a new term as its silence', () => {
    const core = follower(1);
    ticks(core, 9);
    heartbeat(core, 'n3', 2);
    expect(core.status().electionStretchTicks).toBe(0);
  });

  it('still campaigns at once, and is granted, when the transport saw the leader connection reset', () => {
    const core = follower(1);
    ticks(core, 8);
    heartbeat(core);
    core.leaderUnreachable('n1');
    expect(ticksToCampaign(core, 100)).toBeLessThanOrEqual(
      RAFT_CONFIG_DEFAULTS.unreachableCampaignDelayTicksMax,
    );

    const voter = follower(2);
    ticks(voter, 8);
    heartbeat(voter);
    voter.leaderUnreachable('n1');
    expect(preVoteFromN3(voter)).toBe('granted');
  });

  it('forgets the silence after a quiet spell of regular heartbeats, and says so', () => {
    const lines: string[] = [];
    const core = follower(1, { logger: (l) => lines.push(l) });
    ticks(core, 8);
    heartbeat(core);
    expect(
      lines.some((l) =>
        l.includes('election timeout stretched by 6 ticks: the leader n1 was silent for 8 ticks'),
      ),
    ).toBe(true);
    for (let i = 0; i < 2 * STRETCH_MEMORY_ELECTIONS * ELECTION_TICKS; i += 2) {
      ticks(core, 2);
      heartbeat(core);
    }
    expect(core.status().electionStretchTicks).toBe(0);
    expect(lines.some((l) => l.includes('election timeout back to normal'))).toBe(true);
    expect(ticksToCampaign(core, 100)).toBeLessThan(2 * ELECTION_TICKS);
  });

  it('refuses a stretch bound outside [0, 10 election timeouts]', () => {
    expect(() => follower(1, { electionStretchTicksMax: -1 })).toThrow(RaftConfigError);
    expect(() => follower(1, { electionStretchTicksMax: 10 * ELECTION_TICKS + 1 })).toThrow(
      /electionStretchTicksMax must be an integer in \[0, 100\]/,
    );
  });
});
