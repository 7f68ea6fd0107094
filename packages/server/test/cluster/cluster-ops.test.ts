import { EventEmitter } from 'node:events';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode, RaftNodeEvents } from '@omnirelay/raft';
import { ServerError } from '../../src/errors/error-table';
import { transferLeadership } from '../../src/cluster/cluster-ops';

/**
 * FakeLeader is the part of a RaftNode that transferLeadership uses: its status (a leader n1 of
 * voters n1..n3, with per-peer link state and progress) and its events; `asked` records the
 * transfers it was asked for.
 */
class FakeLeader extends EventEmitter<RaftNodeEvents> {
  readonly asked: string[] = [];

  constructor(
    private readonly connected: Readonly<Record<string, boolean>>,
    private readonly match: Readonly<Record<string, number>>,
  ) {
    super();
  }

  status(): object {
    return {
      id: 'n1',
      role: 'leader',
      term: 7,
      membership: { voters: ['n1', 'n2', 'n3'], learners: [] },
      progress: Object.fromEntries(Object.entries(this.match).map(([id, m]) => [id, { match: m }])),
      peers: Object.fromEntries(Object.entries(this.connected).map(([id, c]) => [id, { connected: c }])),
    };
  }

  transferLeadership(to: string): void {
    this.asked.push(to);
  }

  node(): RaftNode<ApplyResult> {
    return this as unknown as RaftNode<ApplyResult>;
  }
}

const notLeader = (): ServerError => new ServerError('NOT_LEADER', 'not the leader');

describe('transferLeadership', () => {
  it('picks the most caught-up voter it is connected to, passing over a disconnected one further ahead', async () => {
    const fake = new FakeLeader({ n2: false, n3: true }, { n2: 100, n3: 90 });
    const moved = transferLeadership(fake.node(), '', 60_000, notLeader);
    expect(fake.asked).toEqual(['n3']);
    fake.emit('leader', 'n3', 8);
    await expect(moved).resolves.toEqual({ leader: 'n3', term: 8 });
  });

  it('fails at once when no other voter is connected, naming them, and asks for no transfer', async () => {
    const fake = new FakeLeader({ n2: false, n3: false }, { n2: 100, n3: 90 });
    await expect(transferLeadership(fake.node(), '', 60_000, notLeader)).rejects.toMatchObject({
      code: 'INVALID_TRANSFER_TARGET',
      message: expect.stringContaining('no other voter is connected to n1 (n2, n3)') as unknown,
    });
    expect(fake.asked).toEqual([]);
  });

  it('fails as soon as the target drops its connection, not after the timeout, and stops listening', async () => {
    const fake = new FakeLeader({ n2: true, n3: true }, { n2: 100, n3: 90 });
    const moved = transferLeadership(fake.node(), 'n2', 60_000, notLeader);
    // Another peer's loss does not end the wait.
    fake.emit('peerLost', 'n3');
    fake.emit('peerLost', 'n2');
    await expect(moved).rejects.toMatchObject({
      code: 'INVALID_TRANSFER_TARGET',
      message: expect.stringContaining('n2 dropped its connection') as unknown,
    });
    expect([fake.listenerCount('leader'), fake.listenerCount('peerLost')]).toEqual([0, 0]);
  });

  it('still times out with DEADLINE_EXCEEDED when the target stays connected and nothing moves', async () => {
    const fake = new FakeLeader({ n2: true, n3: true }, { n2: 100, n3: 90 });
    await expect(transferLeadership(fake.node(), 'n2', 50, notLeader)).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
    expect([fake.listenerCount('leader'), fake.listenerCount('peerLost')]).toEqual([0, 0]);
  });
});
