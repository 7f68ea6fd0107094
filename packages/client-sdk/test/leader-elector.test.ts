import type { Lease, StoppedReason } from '../src/index';
import { LeaderElector } from '../src/index';
import type { SoloCluster } from './support/solo';
import { startSolo, waitFor } from './support/solo';

let solo: SoloCluster;
beforeAll(async () => {
  solo = await startSolo();
});
afterAll(async () => {
  await solo.stop();
});

describe('LeaderElector', () => {
  it('leads, hands over on stop, reports every new leader, and campaigns again after losing', async () => {
    const log: string[] = [];
    const make = (id: string): LeaderElector =>
      new LeaderElector(solo.client({ candidateId: id }), {
        scope: 'elector/1',
        ttlMs: 2000,
        onStartedLeading: (lease: Lease) => log.push(`${id} started ${lease.fence > 0n}`),
        onStoppedLeading: (reason: StoppedReason) => log.push(`${id} stopped ${reason}`),
        onNewLeader: (leader: string) => log.push(`${id} sees ${leader || 'nobody'}`),
      });
    const a = make('a').start();
    await waitFor('a to lead', () => a.isLeader);
    const b = make('b').start();
    await waitFor('b to see a', () => log.includes('b sees a'));
    expect(b.isLeader).toBe(false);

    // An operator removes a: b (waiting) takes over; a campaigns again and queues.
    await solo.client().stepDown('elector/1');
    await waitFor('b to lead', () => b.isLeader);
    await waitFor('a to notice', () => log.includes('a stopped refused') && log.includes('a sees b'));

    // b stops: it resigns and a, queued again, leads.
    await b.stop();
    await waitFor('a to lead again', () => a.isLeader);
    expect(log).toContain('b stopped stopped');
    await a.stop();
    expect(await solo.client().getLeader('elector/1')).toBeNull();
    expect(log.filter((l) => l === 'a started true')).toHaveLength(2);
    expect(log.filter((l) => l === 'b started true')).toHaveLength(1);
  });
});
