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

describe('WatchHub history', () => {
  it('drops the oldest revisions past its bound without shifting the array (a 4,096-lease expiry on a full history)', () => {
    // Each Array.shift moved every retained revision: at the default bound of 100,000 events, one
    // expiry entry of 4,096 leases held the event loop for about a quarter of a second.
    const hub = new WatchHub(100_000);
    for (let r = 1; r <= 100_000; r++) hub.publish(r, [event(r, `s/${r}`)]);
    const shift = jest.spyOn(Array.prototype, 'shift');
    try {
      const expiry = Array.from({ length: 4096 }, (_, i) => event(100_001, `s/${i + 1}`));
      hub.publish(100_001, expiry);
      expect(shift).not.toHaveBeenCalled();
    } finally {
      shift.mockRestore();
    }
    // 4,096 one-event revisions made room for the expiry: 95,904 + 4,096 events.
    expect(hub.oldestAvailable).toBe(4097);
    expect(hub.historyLength).toBe(100_000 - 4096 + 1);
  });

  it('replays exactly the retained revisions, in order, after the dropped ones were shed', () => {
    const hub = new WatchHub(1000);
    for (let r = 1; r <= 5000; r++) hub.publish(r, [event(r, `s/${r}`)]);
    expect(hub.oldestAvailable).toBe(4001);
    expect(hub.historyLength).toBe(1000);
    const replay = recorder();
    hub.watch('', 4500, replay.sink);
    expect(replay.got.map((b) => b.revision)).toEqual(Array.from({ length: 501 }, (_, i) => 4500 + i));
    expect(() => hub.watch('', 4000, recorder().sink)).toThrow('revision 4000 is compacted on this node');
    const fromOldest = recorder();
    hub.watch('', hub.oldestAvailable, fromOldest.sink);
    expect(fromOldest.got).toHaveLength(1000);
    expect(fromOldest.got[0]!.revision).toBe(4001);
  });

  it('replays from the first retained revision at or after the one asked for, where revisions skip numbers', () => {
    const hub = new WatchHub(1000);
    // Entries with no holder change publish nothing: the retained revisions are the even ones.
    for (let r = 2; r <= 200; r += 2) hub.publish(r, [event(r, `s/${r}`)]);
    const replayed = (from: number): number[] => {
      const r = recorder();
      hub.watch('', from, r.sink);
      return r.got.map((b) => b.revision);
    };
    expect(replayed(101)).toEqual(Array.from({ length: 50 }, (_, i) => 102 + 2 * i));
    expect(replayed(102)).toEqual(Array.from({ length: 50 }, (_, i) => 102 + 2 * i));
    expect(replayed(200)).toEqual([200]);
    expect(replayed(201)).toEqual([]);
    expect(replayed(1)).toHaveLength(100);
  });
});
