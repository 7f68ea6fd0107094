import { PendingProposals } from '../../src/node/pending-proposals';
import { RaftNodeError, isRaftNodeError } from '../../src/index';

/** outcome records how a promise settled, so a test can look without awaiting it. */
function outcome<T>(p: Promise<T>): { value?: T; error?: unknown; settled: boolean } {
  const o: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  p.then(
    (value) => Object.assign(o, { value, settled: true }),
    (error: unknown) => Object.assign(o, { error, settled: true }),
  );
  return o;
}

/** flush lets the promise callbacks run (fake timers leave microtasks alone). */
const flush = (): Promise<void> => Promise.resolve().then(() => undefined);

describe('PendingProposals', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const deadline = (timeoutMs: number): RaftNodeError =>
    new RaftNodeError('DEADLINE_EXCEEDED', `no answer within ${timeoutMs} ms`);

  it('resolves a newer proposal at an index after a stale proposal there timed out (leader, deposed, leader again)', async () => {
    const proposals = new PendingProposals<string>(deadline);
    // Leader in term 1: its entry at index 7 does not commit; another leader's entry replaces it.
    const stale = outcome(proposals.add(1, 7, 100));
    // Leader again in term 3, its log truncated back: a new proposal lands at index 7 too.
    const fresh = outcome(proposals.add(3, 7, 1_000));
    jest.advanceTimersByTime(100);
    await flush();
    expect(isRaftNodeError(stale.error, 'DEADLINE_EXCEEDED')).toBe(true);
    expect(fresh.settled).toBe(false);
    // The term-3 entry commits: its own proposer gets the result, not DEADLINE_EXCEEDED later.
    proposals.applied(7, 3, 'applied-at-7', 'n1');
    await flush();
    expect(fresh.value).toBe('applied-at-7');
    jest.advanceTimersByTime(1_000);
    await flush();
    expect(fresh.error).toBeUndefined();
    expect(proposals.size).toBe(0);
  });

  it('rejects every other-term proposal at an applied index with PROPOSAL_DROPPED at once', async () => {
    const proposals = new PendingProposals<string>(deadline);
    const stale = outcome(proposals.add(1, 7, 1_000));
    const fresh = outcome(proposals.add(3, 7, 1_000));
    expect(proposals.size).toBe(2);
    proposals.applied(7, 3, 'applied-at-7', 'n1');
    await flush();
    expect(fresh.value).toBe('applied-at-7');
    expect(isRaftNodeError(stale.error, 'PROPOSAL_DROPPED')).toBe(true);
    expect((stale.error as RaftNodeError).leaderHint).toBe('n1');
    expect(proposals.size).toBe(0);
  });

  it('rejects a proposal whose index holds another leader entry with PROPOSAL_DROPPED', async () => {
    const proposals = new PendingProposals<string>(deadline);
    const mine = outcome(proposals.add(2, 9, 1_000));
    proposals.applied(9, 4, 'someone-else', 'n3');
    await flush();
    expect(isRaftNodeError(mine.error, 'PROPOSAL_DROPPED')).toBe(true);
    expect(mine.value).toBeUndefined();
  });

  it('rejects a proposal whose timer fires with the deadline error and forgets it', async () => {
    const proposals = new PendingProposals<string>(deadline);
    const p = outcome(proposals.add(1, 3, 50));
    jest.advanceTimersByTime(50);
    await flush();
    expect((p.error as Error).message).toBe('no answer within 50 ms');
    expect(proposals.size).toBe(0);
    proposals.applied(3, 1, 'late', 'n1');
    await flush();
    expect(p.value).toBeUndefined();
  });

  it('rejects everything waiting on rejectAll and clears its timers', async () => {
    const proposals = new PendingProposals<string>(deadline);
    const a = outcome(proposals.add(1, 3, 50));
    const b = outcome(proposals.add(2, 3, 50));
    const c = outcome(proposals.add(2, 4, 50));
    proposals.rejectAll(new RaftNodeError('STOPPED', 'stopping'));
    await flush();
    for (const p of [a, b, c]) expect(isRaftNodeError(p.error, 'STOPPED')).toBe(true);
    expect(proposals.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });
});
