import type { AppendRequest, AppendResponse, Entry, Message } from '../../src/core/index';
import { MemoryStorage, Mulberry32, NONE, RAFT_CONFIG_DEFAULTS, RaftCore } from '../../src/core/index';
import { cmd, persist, settle } from '../support/core-driver';

const membership = { voters: ['n1', 'n2', 'n3'], learners: [] };

interface Member {
  readonly core: RaftCore;
  readonly storage: MemoryStorage;
}

/** member starts `id` on a store that holds `entries` at `term` (no vote, nothing committed). */
function member(id: string, entries: readonly Entry[], term: number): Member {
  const storage = MemoryStorage.bootstrap(membership);
  storage.append(entries);
  storage.setHardState({ term, vote: NONE, commit: 0 });
  const core = new RaftCore({
    ...RAFT_CONFIG_DEFAULTS,
    id,
    storage,
    rng: new Mulberry32(3),
    electionTicks: 10,
    heartbeatTicks: 2,
  });
  return { core, storage };
}

/**
 * elect makes `leader` the leader of the next term with the vote of n2 alone (n3 never answers),
 * and returns the messages of its first Ready (the no-op's appends), whose write is done.
 */
function elect(leader: Member): Message[] {
  const { core, storage } = leader;
  core.campaign();
  settle(core, storage);
  const term = core.status().term;
  core.step({ type: 'preVoteResponse', from: 'n2', to: 'n1', term: term + 1, reject: false });
  settle(core, storage);
  core.step({ type: 'voteResponse', from: 'n2', to: 'n1', term: term + 1, reject: false });
  expect(core.status().role).toBe('leader');
  return settle(core, storage);
}

const appendsTo = (messages: readonly Message[], to: string): AppendRequest[] =>
  messages.filter((m): m is AppendRequest => m.type === 'append' && m.to === to);

const answersOf = (messages: readonly Message[]): AppendResponse[] =>
  messages.filter((m): m is AppendResponse => m.type === 'appendResponse');

/** follow hands `messages` to `follower` and returns its answers, once its writes are done. */
function follow(follower: Member, messages: readonly Message[]): AppendResponse[] {
  for (const m of messages) follower.core.step(m);
  return answersOf(settle(follower.core, follower.storage));
}

/**
 * electThenPropose starts n1 and n2 on `n1Log` and `n2Log` at `term`, elects n1 with n2's vote,
 * proposes one command on n1, and returns both members and n1's appends to n2 so far (the no-op's
 * and the proposal's), none of them delivered yet.
 */
function electThenPropose(
  n1Log: readonly Entry[],
  n2Log: readonly Entry[],
  term: number,
): { n1: Member; n2: Member; toN2: AppendRequest[] } {
  const n1 = member('n1', n1Log, term);
  const n2 = member('n2', n2Log, term);
  const first = elect(n1);
  n1.core.propose(Buffer.from('a'));
  const second = settle(n1.core, n1.storage);
  return { n1, n2, toN2: [...appendsTo(first, 'n2'), ...appendsTo(second, 'n2')] };
}

/** APPEND_ROUNDS_MAX bounds the leader ↔ follower rounds a convergence test relays. */
const APPEND_ROUNDS_MAX = 10;

/** converge relays appends and answers between n1 and n2 until neither has more to say (bounded). */
function converge(leader: Member, follower: Member, first: readonly Message[]): void {
  let toFollower = appendsTo(first, 'n2') as Message[];
  for (let round = 0; round < APPEND_ROUNDS_MAX && toFollower.length > 0; round++) {
    for (const answer of follow(follower, toFollower)) leader.core.step(answer);
    toFollower = appendsTo(settle(leader.core, leader.storage), 'n2');
  }
  expect(toFollower).toEqual([]);
}

describe('RaftCore as a new leader (optimistic replication to the voters that elected it)', () => {
  it("sends a proposal made right after the no-op to a voter that elected it, before the no-op's answer", () => {
    const n1 = member('n1', [cmd(1, 1)], 1);
    const first = elect(n1);
    const noop = n1.core.status().lastIndex;
    expect(appendsTo(first, 'n2').map((m) => m.entries.map((e) => e.index))).toEqual([[noop]]);

    const proposed = n1.core.propose(Buffer.from('a'));
    expect(proposed.ok).toBe(true);
    const second = settle(n1.core, n1.storage);
    // n2 voted for n1: the proposal goes out now, after the no-op, with nothing answered yet.
    const toN2 = appendsTo(second, 'n2');
    expect(toN2).toHaveLength(1);
    expect(toN2[0]!.prevLogIndex).toBe(noop);
    expect(toN2[0]!.entries.map((e) => e.index)).toEqual([noop + 1]);
    // n3 did not vote (yet): it is probed as before, one append until it answers.
    expect(appendsTo(second, 'n3')).toEqual([]);
    expect(n1.core.status().progress['n3']?.state).toBe('probe');
    // Nothing counts before an acknowledgement.
    expect(n1.core.status().progress['n2']?.match).toBe(0);
  });

  it('commits the no-op and the proposal after it with one answer from the voter', () => {
    const { n1, n2, toN2 } = electThenPropose([cmd(1, 1)], [cmd(1, 1)], 1);
    const answers = follow(n2, toN2);
    expect(answers.map((a) => [a.reject, a.index])).toEqual([
      [false, 2],
      [false, 3],
    ]);
    for (const a of answers) n1.core.step(a);
    expect(n1.core.status().commit).toBe(3);
  });

  it('falls back to probe at the hint when the voter that elected it has a shorter log, and converges', () => {
    // n1 holds 1..3 of term 1; n2 has only 1. n2's log is behind, not ahead: it grants its vote.
    const { n1, n2, toN2: optimistic } = electThenPropose([cmd(1, 1), cmd(2, 1), cmd(3, 1)], [cmd(1, 1)], 1);
    expect(optimistic.map((m) => m.prevLogIndex)).toEqual([3, 4]);

    // Both fail the log matching check: n2 lacks 3 and 4.
    const rejections = follow(n2, optimistic);
    expect(rejections.map((a) => [a.reject, a.index, a.hintIndex])).toEqual([
      [true, 3, 1],
      [true, 4, 1],
    ]);
    n1.core.step(rejections[0]!);
    expect(n1.core.status().progress['n2']).toEqual({ match: 0, next: 2, state: 'probe' });
    // The second rejection is of an append sent before the fallback: stale, it changes nothing.
    n1.core.step(rejections[1]!);
    expect(n1.core.status().progress['n2']).toEqual({ match: 0, next: 2, state: 'probe' });

    const probe = settle(n1.core, n1.storage);
    expect(appendsTo(probe, 'n2').map((m) => [m.prevLogIndex, m.entries.map((e) => e.index)])).toEqual([
      [1, [2, 3, 4, 5]],
    ]);
    converge(n1, n2, probe);
    expect(n1.core.status().progress['n2']).toEqual({ match: 5, next: 6, state: 'replicate' });
    expect(n1.core.status().commit).toBe(5);
    expect(n2.storage.allEntries().map((e) => `${e.index}/${e.term}`)).toEqual(
      n1.storage.allEntries().map((e) => `${e.index}/${e.term}`),
    );
  });

  it('falls back to probe at the hint when the voter that elected it holds a divergent tail, which it replaces', () => {
    // 3/3 on n1 beats 3/2 on n2 (a later term), so n2 votes for n1 although their entries at 3 differ.
    const { n1, n2, toN2 } = electThenPropose(
      [cmd(1, 1), cmd(2, 1), cmd(3, 3)],
      [cmd(1, 1), cmd(2, 1), cmd(3, 2)],
      3,
    );
    const rejections = follow(n2, toN2);
    expect(rejections.every((a) => a.reject)).toBe(true);
    n1.core.step(rejections[0]!);
    // n2's entry at 3 is of term 2: the logs may agree up to 2, the last entry of a term ≤ 2.
    expect(n1.core.status().progress['n2']).toEqual({ match: 0, next: 3, state: 'probe' });
    converge(n1, n2, settle(n1.core, n1.storage));
    expect(n1.core.status().progress['n2']?.match).toBe(5);
    expect(n2.storage.allEntries().map((e) => `${e.index}/${e.term}`)).toEqual([
      '1/1',
      '2/1',
      '3/3',
      '4/4',
      '5/4',
    ]);
  });

  it('never moves match back on stale, duplicated or reordered answers', () => {
    const { n1, n2, toN2 } = electThenPropose([cmd(1, 1)], [cmd(1, 1)], 1);
    const answers = follow(n2, toN2);
    // Reordered: the answer for 3 comes first, then the one for 2, then both again.
    n1.core.step(answers[1]!);
    n1.core.step(answers[0]!);
    n1.core.step(answers[1]!);
    n1.core.step(answers[0]!);
    expect(n1.core.status().progress['n2']).toEqual({ match: 3, next: 4, state: 'replicate' });
    // A rejection of an append at or below match is stale (n2 lacked 1 once, say): nothing moves.
    n1.core.step({ ...answers[0]!, reject: true, index: 1, hintIndex: 0, hintTerm: 0 });
    n1.core.step({ ...answers[0]!, reject: true, index: 3, hintIndex: 0, hintTerm: 0 });
    expect(n1.core.status().progress['n2']).toEqual({ match: 3, next: 4, state: 'replicate' });
    expect(n1.core.status().commit).toBe(3);
  });

  it('probes from where its optimism began, not from index 1, when the voter turns out unreachable', () => {
    const n1 = member('n1', [cmd(1, 1), cmd(2, 1), cmd(3, 1)], 1);
    elect(n1);
    n1.core.propose(Buffer.from('a'));
    settle(n1.core, n1.storage);
    n1.core.reportUnreachable('n2');
    expect(n1.core.status().progress['n2']).toEqual({ match: 0, next: 4, state: 'probe' });
    // Once it answers again (a heartbeat), the probe resends what it lacks from there.
    n1.core.step({ type: 'heartbeatResponse', from: 'n2', to: 'n1', term: 2, readSeq: 0 });
    const probe = appendsTo(settle(n1.core, n1.storage), 'n2');
    expect(probe.map((m) => [m.prevLogIndex, m.entries.map((e) => e.index)])).toEqual([[3, [4, 5]]]);
  });

  it("keeps a proposal made during the no-op's write for the next Ready (batching is unchanged)", () => {
    const n1 = member('n1', [cmd(1, 1)], 1);
    const { core, storage } = n1;
    core.campaign();
    settle(core, storage);
    core.step({ type: 'preVoteResponse', from: 'n2', to: 'n1', term: 2, reject: false });
    settle(core, storage);
    core.step({ type: 'voteResponse', from: 'n2', to: 'n1', term: 2, reject: false });
    const withNoop = core.ready();
    expect(withNoop.softState?.role).toBe('leader');
    core.propose(Buffer.from('a'));
    expect(core.takeEarlyMessages()).toEqual([]);
    persist(core, storage, withNoop);
    expect(appendsTo(core.ready().earlyMessages, 'n2').map((m) => m.prevLogIndex)).toEqual([2]);
  });
});
