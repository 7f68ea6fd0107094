import type { LeadershipEvent } from '@omnirelay/leadership-fsm';
import type { RevisionEvents, WatchSink } from '../../src/leadership/watch-hub';
import { WatchHub } from '../../src/leadership/watch-hub';

function event(revision: number, scope: string): LeadershipEvent {
  return {
    revision,
    scope,
    scopeTerm: 1,
    reason: 'expired',
    previousHolder: null,
    holder: null,
    correlationId: '',
    raftTerm: 1,
    proposerId: 'n1',
    stampMs: 0,
    principal: '',
  };
}

function recorder(): { sink: WatchSink; got: RevisionEvents[] } {
  const got: RevisionEvents[] = [];
  return {
    got,
    sink: {
      deliver: (batch) => {
        got.push(batch);
        return true;
      },
      close: () => undefined,
    },
  };
}

describe('WatchHub', () => {
  it('hands every watcher of one prefix the same filtered batch object, so it is encoded once', () => {
    const hub = new WatchHub(1000);
    const a = recorder();
    const b = recorder();
    const other = recorder();
    hub.watch('orders/', undefined, a.sink);
    hub.watch('orders/', undefined, b.sink);
    hub.watch('billing/', undefined, other.sink);

    hub.publish(7, [event(7, 'orders/1'), event(7, 'billing/1'), event(7, 'orders/2')]);

    expect(a.got).toHaveLength(1);
    expect(a.got[0]!.revision).toBe(7);
    expect(a.got[0]!.events.map((e) => e.scope)).toEqual(['orders/1', 'orders/2']);
    expect(b.got[0]).toBe(a.got[0]);
    expect(other.got[0]!.events.map((e) => e.scope)).toEqual(['billing/1']);
  });

  it('hands the published batch itself to watchers whose prefix keeps every event', () => {
    const hub = new WatchHub(1000);
    const all = recorder();
    const orders = recorder();
    hub.watch('', undefined, all.sink);
    hub.watch('orders/', undefined, orders.sink);

    hub.publish(3, [event(3, 'orders/1')]);

    expect(orders.got[0]).toBe(all.got[0]);
  });

  it('delivers nothing to a watcher whose prefix matches no event of the revision', () => {
    const hub = new WatchHub(1000);
    const w = recorder();
    hub.watch('orders/', undefined, w.sink);

    hub.publish(4, [event(4, 'billing/1')]);

    expect(w.got).toHaveLength(0);
  });
});
