import type { LeaseRef, RenewItem } from '@omnirelay/leadership-fsm';
import { LEASE_BATCH_BYTES_MAX, leaseListBytesMax, leaseRefBytesMax } from '@omnirelay/leadership-fsm';
import type { Renewable } from '../../src/leadership/renewal-batcher';
import { PENDING_SWEEP_MS, RenewalBatcher, leaseKey } from '../../src/leadership/renewal-batcher';

function lease(i: number): LeaseRef {
  return { scope: `b/${i}`, fenceToken: BigInt(10 + i) };
}

/** answer renews every lease except those on scope b/13 (answered STALE_FENCE, as the FSM would). */
function answer(l: LeaseRef): RenewItem {
  return l.scope === 'b/13'
    ? {
        scope: l.scope,
        fenceToken: l.fenceToken,
        renewed: false,
        code: 'STALE_FENCE',
        currentFenceToken: 99n,
      }
    : { scope: l.scope, fenceToken: l.fenceToken, renewed: true, deadlineMs: 1000 + Number(l.fenceToken) };
}

/** recorder is a proposeBatch that records each batch and answers once `release` is called. */
function recorder(): {
  batches: LeaseRef[][];
  release: () => void;
  propose: (leases: readonly LeaseRef[]) => Promise<readonly RenewItem[]>;
} {
  const batches: LeaseRef[][] = [];
  const waiting: Array<() => void> = [];
  return {
    batches,
    release: () => waiting.splice(0).forEach((go) => go()),
    propose: (leases) => {
      batches.push([...leases]);
      return new Promise((resolve) => waiting.push(() => resolve(leases.map(answer))));
    },
  };
}

/** settle lets queued microtasks (the batcher's flush) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('RenewalBatcher', () => {
  it('answers every lease of a request in its order, renewing a lease listed twice once', async () => {
    const r = recorder();
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, r.propose);
    const leases = [lease(3), lease(1), lease(13), lease(3)];
    const answered = batcher.renewMany(leases);
    await settle();
    expect(r.batches.map((b) => b.map((l) => l.scope))).toEqual([['b/3', 'b/1', 'b/13']]);
    r.release();
    const items = await answered;
    expect(items.map((i) => [i.scope, i.renewed])).toEqual([
      ['b/3', true],
      ['b/1', true],
      ['b/13', false],
      ['b/3', true],
    ]);
  });

  it('puts requests that arrive together in one batch and, with one batch in flight, those arriving during it in the next', async () => {
    const r = recorder();
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, r.propose, () => 0, 1);
    const first = batcher.renewMany([lease(1), lease(2)]);
    const second = batcher.renew(lease(3));
    await settle();
    expect(r.batches).toHaveLength(1);
    expect(r.batches[0]!.map((l) => l.scope)).toEqual(['b/1', 'b/2', 'b/3']);
    const third = batcher.renewMany([lease(4)]);
    await settle();
    expect(r.batches).toHaveLength(1);
    expect(batcher.pendingCount).toBe(4);
    expect(batcher.isPending(leaseKey(lease(4)))).toBe(true);
    r.release();
    expect((await first).map((i) => i.scope)).toEqual(['b/1', 'b/2']);
    expect((await second).scope).toBe('b/3');
    await settle();
    expect(r.batches.map((b) => b.map((l) => l.scope))).toEqual([['b/1', 'b/2', 'b/3'], ['b/4']]);
    r.release();
    expect((await third).map((i) => i.scope)).toEqual(['b/4']);
    expect(batcher.pendingCount).toBe(0);
    expect(batcher.isPending(leaseKey(lease(4)))).toBe(false);
  });

  it('keeps up to inFlightMax batches in flight, so a long commit round trip does not cap renewals at one batch per round', async () => {
    const r = recorder();
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, r.propose, () => 0, 2);
    const first = batcher.renewMany([lease(1), lease(2)]);
    await settle();
    // A second request while the first batch is in flight goes at once, in a batch of its own.
    const second = batcher.renew(lease(3));
    await settle();
    expect(r.batches.map((b) => b.map((l) => l.scope))).toEqual([['b/1', 'b/2'], ['b/3']]);
    // With both slots taken, later requests wait together for the next free one.
    const third = batcher.renew(lease(4));
    const fourth = batcher.renew(lease(5));
    await settle();
    expect(r.batches).toHaveLength(2);
    expect(batcher.pendingCount).toBe(5);
    r.release();
    expect((await first).map((i) => i.scope)).toEqual(['b/1', 'b/2']);
    expect((await second).scope).toBe('b/3');
    await settle();
    expect(r.batches.map((b) => b.map((l) => l.scope))).toEqual([['b/1', 'b/2'], ['b/3'], ['b/4', 'b/5']]);
    r.release();
    expect((await third).scope).toBe('b/4');
    expect((await fourth).scope).toBe('b/5');
    expect(batcher.pendingCount).toBe(0);
  });

  it('never proposes more than batchMax leases in one entry, and answers a longer list in order', async () => {
    const r = recorder();
    const batcher = new RenewalBatcher(3, LEASE_BATCH_BYTES_MAX, r.propose);
    const leases = Array.from({ length: 8 }, (_, i) => lease(i));
    const answered = batcher.renewMany(leases);
    const other = batcher.renewMany([lease(20), lease(21)]);
    for (let round = 0; round < 10 && r.batches.length < 4; round++) {
      await settle();
      r.release();
    }
    expect(r.batches.map((b) => b.length)).toEqual([3, 3, 2, 2]);
    expect((await answered).map((i) => i.scope)).toEqual(leases.map((l) => l.scope));
    expect((await other).map((i) => i.scope)).toEqual(['b/20', 'b/21']);
  });

  it('never proposes more than batchBytesMax bytes of leases in one entry, keeping callers whole when they fit', async () => {
    const r = recorder();
    // Room for three leases of scope b/<one digit> per entry.
    const bytesMax = 3 * leaseRefBytesMax(lease(1));
    const batcher = new RenewalBatcher(100, bytesMax, r.propose);
    const first = batcher.renewMany([lease(1), lease(2)]);
    const second = batcher.renewMany([lease(3), lease(4)]);
    const long = batcher.renewMany([1, 2, 3, 4, 5, 6, 7].map((i) => lease(i + 1)));
    for (let round = 0; round < 10 && r.batches.length < 5; round++) {
      await settle();
      r.release();
    }
    for (const b of r.batches) expect(leaseListBytesMax(b)).toBeLessThanOrEqual(bytesMax);
    expect(r.batches.map((b) => b.map((l) => l.scope))).toEqual([
      ['b/1', 'b/2'],
      ['b/3', 'b/4'],
      ['b/2', 'b/3', 'b/4'],
      ['b/5', 'b/6', 'b/7'],
      ['b/8'],
    ]);
    expect((await first).map((i) => i.scope)).toEqual(['b/1', 'b/2']);
    expect((await second).map((i) => i.scope)).toEqual(['b/3', 'b/4']);
    expect((await long).map((i) => i.scope)).toEqual(['b/2', 'b/3', 'b/4', 'b/5', 'b/6', 'b/7', 'b/8']);
  });

  it('sends a lease larger than batchBytesMax alone, so it cannot fail anyone else', async () => {
    const r = recorder();
    const batcher = new RenewalBatcher(100, 200, r.propose);
    const huge = { scope: 'h'.repeat(500), fenceToken: 1n };
    const answers = batcher.renewMany([lease(1), huge, lease(2)]);
    for (let round = 0; round < 10 && r.batches.length < 3; round++) {
      await settle();
      r.release();
    }
    expect(r.batches.map((b) => b.length)).toEqual([1, 1, 1]);
    expect(r.batches[1]![0]).toBe(huge);
    expect((await answers).map((i) => i.scope)).toEqual(['b/1', huge.scope, 'b/2']);
  });

  it('fails every caller of a batch whose proposal fails, and goes on with the next', async () => {
    let calls = 0;
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, (leases) => {
      calls++;
      return calls === 1 ? Promise.reject(new Error('NOT_LEADER')) : Promise.resolve(leases.map(answer));
    });
    const a = batcher.renewMany([lease(1), lease(2)]);
    const b = batcher.renew(lease(3));
    await expect(a).rejects.toThrow('NOT_LEADER');
    await expect(b).rejects.toThrow('NOT_LEADER');
    expect((await batcher.renewMany([lease(4)])).map((i) => i.renewed)).toEqual([true]);
  });

  it('answers each lease with its own answer when the proposal answers out of the listed order', async () => {
    // A batch split in parts, or a lease refused alone, comes back in another order than listed.
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, (leases) =>
      Promise.resolve([...leases].reverse().map(answer)),
    );
    const first = batcher.renewMany([lease(1), lease(13), lease(2)]);
    const second = batcher.renewMany([lease(2), lease(4)]);
    const answered = [...(await first), ...(await second)];
    expect(answered.map((i) => [i.scope, i.fenceToken, i.renewed])).toEqual([
      ['b/1', 11n, true],
      ['b/13', 23n, false],
      ['b/2', 12n, true],
      ['b/2', 12n, true],
      ['b/4', 14n, true],
    ]);
  });

  it('matches answers by lease when the entry answers out of order and no lease repeats', async () => {
    // Without a repeated lease each caller would take its slice of the answers in order; an
    // entry that answers in another order (a lease refused alone comes last) must not shift them.
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, (leases) =>
      Promise.resolve([...leases.slice(1), leases[0]!].map(answer)),
    );
    const first = batcher.renewMany([lease(13), lease(1)]);
    const second = batcher.renewMany([lease(2), lease(4)]);
    const answered = [...(await first), ...(await second)];
    expect(answered.map((i) => [i.scope, i.fenceToken, i.renewed])).toEqual([
      ['b/13', 23n, false],
      ['b/1', 11n, true],
      ['b/2', 12n, true],
      ['b/4', 14n, true],
    ]);
  });

  it('lists a lease once when two callers of one batch list it, and answers both', async () => {
    const r = recorder();
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, r.propose);
    const first = batcher.renewMany([lease(5), lease(6)]);
    const second = batcher.renewMany([lease(6), lease(7)]);
    await settle();
    expect(r.batches.map((b) => b.map((l) => l.scope))).toEqual([['b/5', 'b/6', 'b/7']]);
    r.release();
    expect((await first).map((i) => i.scope)).toEqual(['b/5', 'b/6']);
    expect((await second).map((i) => i.scope)).toEqual(['b/6', 'b/7']);
  });

  it('gives each caller of an in-order batch its own slice of the answers', async () => {
    const r = recorder();
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, r.propose);
    const first = batcher.renewMany([lease(5), lease(13)]);
    const second = batcher.renewMany([lease(6)]);
    const third = batcher.renewMany([lease(7), lease(8)]);
    await settle();
    expect(r.batches).toHaveLength(1);
    r.release();
    expect((await first).map((i) => [i.scope, i.renewed])).toEqual([
      ['b/5', true],
      ['b/13', false],
    ]);
    expect((await second).map((i) => i.scope)).toEqual(['b/6']);
    expect((await third).map((i) => i.scope)).toEqual(['b/7', 'b/8']);
  });

  it('rejects a caller whose lease the entry did not answer', async () => {
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, (leases) =>
      Promise.resolve(leases.slice(1).map(answer)),
    );
    await expect(batcher.renewMany([lease(1), lease(2)])).rejects.toThrow(
      'renew batch did not answer for b/1',
    );
  });

  it('keeps an answered lease as one idle entry, so a renewal every few seconds does not re-insert its key, and drops it after two idle sweeps', async () => {
    const r = recorder();
    // Lease 2's batch waits for `letGo`, the others for r.release.
    let letGo = (): void => undefined;
    const propose = (leases: readonly LeaseRef[]): Promise<readonly RenewItem[]> =>
      leases[0]!.scope === 'b/2'
        ? new Promise((resolve) => (letGo = () => resolve(leases.map(answer))))
        : r.propose(leases);
    let nowMs = 0;
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, propose, () => nowMs);
    // White-box: the map the expiry scheduler's isPending reads.
    const entries = (): string[] => [
      ...(batcher as unknown as { pending: Map<string, number> }).pending.keys(),
    ];
    const renewed = async (l: LeaseRef): Promise<void> => {
      const answered = batcher.renew(l);
      await settle();
      r.release();
      await answered;
    };
    await renewed(lease(1));
    const [key] = entries();
    expect(key).toBe(leaseKey(lease(1)));
    expect(batcher.isPending(leaseKey(lease(1)))).toBe(false);
    expect(batcher.pendingCount).toBe(0);
    // The next renewal reuses the entry: the key string kept is the first one.
    await renewed(lease(1));
    expect(entries()).toHaveLength(1);
    expect(entries()[0]).toBe(key);

    // A sweep marks idle entries; one in flight is untouched and stays pending.
    nowMs = PENDING_SWEEP_MS;
    const inFlight = batcher.renew(lease(2));
    await settle();
    await renewed(lease(3)); // its answer runs the sweep
    expect(batcher.isPending(leaseKey(lease(2)))).toBe(true);
    expect(batcher.pendingCount).toBe(1);
    // Lease 3 renews again before the next sweep; lease 1 does not.
    await renewed(lease(3));
    nowMs = 2 * PENDING_SWEEP_MS;
    letGo();
    await inFlight;
    expect(entries().sort()).toEqual([leaseKey(lease(2)), leaseKey(lease(3))].sort());
    expect(batcher.pendingCount).toBe(0);
    // Leases idle at two sweeps in a row are gone (2 and 3); one renewed since either stays.
    nowMs = 3 * PENDING_SWEEP_MS;
    await renewed(lease(4));
    expect(entries()).toEqual([leaseKey(lease(4))]);
    nowMs = 4 * PENDING_SWEEP_MS;
    await renewed(lease(4));
    expect(entries()).toEqual([leaseKey(lease(4))]);
    expect(batcher.pendingCount).toBe(0);
    // A lease renewed again after it was dropped is counted afresh.
    await renewed(lease(1));
    expect(batcher.pendingCount).toBe(0);
    expect(entries().sort()).toEqual([leaseKey(lease(1)), leaseKey(lease(4))].sort());
  });

  it('counts a lease through the Renewables its callers keep: one count per lease whoever lists it, found again after a sweep dropped it', async () => {
    const r = recorder();
    let nowMs = 0;
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, r.propose, () => nowMs);
    const pendingMap = (batcher as unknown as { pending: Map<string, { count: number }> }).pending;
    // Two streams list lease 1 (a client's old stream and its new one), each keeping its own Renewable.
    const onA: Renewable = { key: leaseKey(lease(1)), pending: undefined };
    const onB: Renewable = { key: leaseKey(lease(1)), pending: undefined };
    const a = batcher.renewMany([lease(1), lease(1)], [onA, onA]);
    await settle();
    const b = batcher.renewMany([lease(1)], [onB]);
    expect(onA).toHaveProperty('pending', pendingMap.get(onA.key));
    expect(onB.pending).toBe(onA.pending);
    expect(onA.pending).toEqual({ count: 3 });
    expect(batcher.pendingCount).toBe(1);
    r.release();
    await a;
    await settle();
    expect(batcher.isPending(onA.key)).toBe(true); // B's renewal is still in flight
    r.release();
    await b;
    expect(batcher.isPending(onA.key)).toBe(false);
    expect(batcher.pendingCount).toBe(0);

    // Two idle sweeps drop the entry; the count A keeps is marked gone, and A's next renewal
    // finds the entry B's renewal made since, not the dropped one.
    const dropped = onA.pending!;
    for (const sweepAt of [1, 2]) {
      nowMs = sweepAt * PENDING_SWEEP_MS;
      const other = batcher.renew(lease(9)); // its answer runs the sweep
      await settle();
      r.release();
      await other;
    }
    expect(pendingMap.has(onA.key)).toBe(false);
    const again = batcher.renewMany([lease(1)], [onB]);
    await settle();
    const fresh = pendingMap.get(onA.key);
    expect(fresh).not.toBe(dropped);
    expect(onB.pending).toBe(fresh);
    const viaA = batcher.renewMany([lease(1)], [onA]);
    expect(onA.pending).toBe(fresh);
    expect(fresh).toEqual({ count: 2 });
    expect(batcher.pendingCount).toBe(1);
    r.release();
    await again;
    await settle();
    r.release();
    await viaA;
    expect(fresh).toEqual({ count: 0 });
    expect(batcher.isPending(onA.key)).toBe(false);
    expect(batcher.pendingCount).toBe(0);
  });

  it('keeps each Renewable with its lease when a request is split into several batches', async () => {
    const r = recorder();
    const batcher = new RenewalBatcher(2, LEASE_BATCH_BYTES_MAX, r.propose);
    const leases = [lease(1), lease(2), lease(3), lease(4), lease(5)];
    const held = leases.map((l): Renewable => ({ key: leaseKey(l), pending: undefined }));
    const answered = batcher.renewMany(leases, held);
    await settle();
    expect(r.batches.map((b) => b.map((l) => l.scope))).toEqual([['b/1', 'b/2'], ['b/3', 'b/4'], ['b/5']]);
    expect(batcher.pendingCount).toBe(5);
    held.forEach((h) => expect(batcher.isPending(h.key)).toBe(true));
    r.release();
    await settle();
    r.release();
    const items = await answered;
    expect(items.map((i) => i.scope)).toEqual(['b/1', 'b/2', 'b/3', 'b/4', 'b/5']);
    held.forEach((h) => expect(h).toEqual({ key: h.key, pending: { count: 0 } }));
    expect(batcher.pendingCount).toBe(0);
  });
});

describe('RenewalBatcher.oldestWaitMs', () => {
  it('is how long the oldest unanswered renewal has waited: the batch in flight, then the queue, 0 when none waits', async () => {
    let nowMs = 100;
    const r = recorder();
    const batcher = new RenewalBatcher(100, LEASE_BATCH_BYTES_MAX, r.propose, () => nowMs);
    expect(batcher.oldestWaitMs()).toBe(0);
    const first = batcher.renewMany([lease(1)]);
    await settle();
    nowMs = 150;
    // The second caller waits for the next batch while the first is in flight.
    const second = batcher.renewMany([lease(2)]);
    nowMs = 400;
    expect(batcher.oldestWaitMs()).toBe(300);
    r.release();
    await first;
    await settle();
    // The first batch was answered; the second is in flight since it was handed over at 150.
    expect(batcher.oldestWaitMs()).toBe(250);
    r.release();
    await second;
    expect(batcher.oldestWaitMs()).toBe(0);
  });
});
