import type { Message } from '../../src/core/index';
import { MemoryStorage, Mulberry32, RAFT_CONFIG_DEFAULTS, RaftCore } from '../../src/core/index';
import { cmd } from '../support/core-driver';

const membership = { voters: ['n1', 'n2', 'n3'], learners: [] };

describe('RaftCore.advance after a Ready whose entries were partly replaced in flight', () => {
  // Regression for sim seeds 21679 (5 nodes) and 500708 (7 nodes): the follower took a Ready with
  // entries 1..5@1, an append from a newer leader replaced 4..5 while the write was in flight, and
  // advance() marked nothing durable, so the next Ready handed out 1..3@1 again. After a
  // compaction at 3, storage.append asserted (append below the snapshot).
  it('marks the still-matching prefix durable and never hands it out again', () => {
    const storage = MemoryStorage.bootstrap(membership);
    const core = new RaftCore({
      ...RAFT_CONFIG_DEFAULTS,
      id: 'n2',
      storage,
      rng: new Mulberry32(1),
      electionTicks: 10,
      heartbeatTicks: 2,
    });
    const fromLeader1: Message = {
      type: 'append',
      from: 'n1',
      to: 'n2',
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      commit: 3,
      entries: [1, 2, 3, 4, 5].map((i) => cmd(i, 1)),
    };
    core.step(fromLeader1);
    const first = core.ready();
    expect(first.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);

    // While the write of 1..5 is in flight, the leader of term 2 replaces 4 and 5.
    core.step({
      type: 'append',
      from: 'n3',
      to: 'n2',
      term: 2,
      prevLogIndex: 3,
      prevLogTerm: 1,
      commit: 3,
      entries: [cmd(4, 2)],
    });

    // The write completes as the Ready asked; the runtime applies and advances.
    storage.append(first.entries);
    if (first.hardState !== undefined) storage.setHardState(first.hardState);
    core.advance();

    // The runtime compacts what it applied (1..3 are committed).
    storage.createSnapshot({ index: 3, term: 1, membership }, new Uint8Array(0));

    const second = core.ready();
    expect(second.entries.map((e) => `${e.index}@${e.term}`)).toEqual(['4@2']);
    expect(() => storage.append(second.entries)).not.toThrow();
    core.advance();
    expect(storage.lastIndex()).toBe(4);
    expect(storage.term(4)).toBe(2);
  });
});
