import type { LeadershipEvent } from '@omnirelay/leadership-fsm';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

/** publishWeakly publishes `count` one-event revisions to `hub` and answers weak references to the events. */
function publishWeakly(hub: WatchHub, count: number): Array<WeakRef<LeadershipEvent>> {
  const refs: Array<WeakRef<LeadershipEvent>> = [];
  for (let r = 1; r <= count; r++) {
    const e = event(r, `s/${r}`);
    refs.push(new WeakRef(e));
    hub.publish(r, [e]);
  }
  return refs;
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

  it('replays what was published, lease views and fences included, unpacking only revisions the prefix may match', () => {
    const hub = new WatchHub(1000);
    const granted: LeadershipEvent = {
      ...event(1, 'orders/1'),
      reason: 'granted',
      correlationId: 'acquire-1',
      principal: 'client/orders',
      stampMs: 1_765_000_000_123,
      holder: {
        scope: 'orders/1',
        candidateId: 'worker-a',
        sessionId: 'session-a',
        metadata: '{"addr":"10.0.0.7:80"}',
        scopeTerm: 1,
        fenceToken: 2n ** 63n + 5n,
        leaseTtlMs: 10_000,
        deadlineMs: 1_765_000_010_123,
        lastRenewalStampMs: 1_765_000_000_123,
        grantedStampMs: 1_765_000_000_123,
        revision: 1,
      },
    };
    const expired = { ...event(2, 'orders/2'), previousHolder: { candidateId: 'worker-b', fenceToken: 9n } };
    const published: Array<[number, LeadershipEvent[]]> = [
      [1, [granted]],
      [2, [expired, event(2, 'billing/1')]], // the scopes share no prefix
      [3, [event(3, 'billing/2')]],
      [4, [event(4, 'orders/10'), event(4, 'orders/11')]], // they share 'orders/1'
    ];
    for (const [revision, events] of published) hub.publish(revision, events);
    const replayed = (prefix: string): Array<[number, LeadershipEvent[]]> => {
      const r = recorder();
      hub.watch(prefix, 1, r.sink);
      return r.got.map((b) => [b.revision, [...b.events]]);
    };
    expect(replayed('')).toEqual(published);
    expect(replayed('orders/')).toEqual([
      [1, [granted]],
      [2, [expired]],
      [4, published[3]![1]],
    ]);
    expect(replayed('orders/1')).toEqual([
      [1, [granted]],
      [4, published[3]![1]],
    ]);
    expect(replayed('orders/10')).toEqual([[4, [published[3]![1][0]]]]);
    expect(replayed('billing/')).toEqual([
      [2, [published[1]![1][1]]],
      [3, published[2]![1]],
    ]);
    expect(replayed('shipping/')).toEqual([]);
    expect(typeof replayed('orders/1')[0]![1][0]!.holder!.fenceToken).toBe('bigint');
  });

  it('keeps none of the published event objects (it keeps them packed)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const hub = new WatchHub(1000);
    // Published from a plain function, so no suspended frame of this test holds an event.
    const refs = publishWeakly(hub, 100);
    // Let the publishing turn end (a WeakRef keeps its target through the turn it was made in).
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    const replay = recorder();
    hub.watch('', 1, replay.sink);
    expect(replay.got).toHaveLength(100);
    expect(replay.got[99]!.events).toEqual([event(100, 's/100')]);
  });
});
