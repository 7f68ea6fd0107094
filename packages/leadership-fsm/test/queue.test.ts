import { WaitQueue } from '../src/queue';

const waiter = (candidateId: string, priority: number, joinedRevision: number) => ({
  candidateId,
  sessionId: '',
  metadata: '',
  leaseTtlMs: 1_000,
  priority,
  joinedRevision,
});

describe('WaitQueue', () => {
  it('orders by priority, highest first, then by the earliest join', () => {
    const queue = new WaitQueue();
    expect(queue.insert(waiter('a', 1, 10), 's')).toBe(0);
    expect(queue.insert(waiter('b', 5, 11), 's')).toBe(0);
    expect(queue.insert(waiter('c', 1, 12), 's')).toBe(2);
    expect(queue.insert(waiter('d', 5, 13), 's')).toBe(1);
    expect(queue.insert(waiter('e', -1, 14), 's')).toBe(4);
    expect(queue.toArray().map((w) => w.candidateId)).toEqual(['b', 'd', 'a', 'c', 'e']);
    expect(queue.shift()?.candidateId).toBe('b');
    expect(queue.remove('c')?.candidateId).toBe('c');
    expect(queue.remove('zz')).toBeUndefined();
    expect(queue.toArray().map((w) => w.candidateId)).toEqual(['d', 'a', 'e']);
  });

  it('asserts the order of a queue read back from a snapshot', () => {
    expect(() => WaitQueue.fromArray([waiter('a', 1, 10), waiter('b', 2, 11)], 's')).toThrow('out of order');
    expect(() => WaitQueue.fromArray([waiter('a', 1, 10), waiter('a', 1, 11)], 's')).toThrow('queued twice');
  });
});
