import { HOP_LEDGER_RECORDS_MAX, HopLedger, hopLedger, recordWireHops } from '../../src/transport/hop-ledger';
import type { WireMessage } from '../../src/transport/wire';
import { messageToWire } from '../../src/transport/wire';

describe('HopLedger', () => {
  it('records nothing until enabled', () => {
    const ledger = new HopLedger();
    expect(ledger.enabled).toBe(false);
    ledger.record('propose', 'n1', 5, 1);
    expect(ledger.drain()).toEqual({ records: [], dropped: 0 });
  });

  it('records each step with a time comparable across processes, and drain empties it', () => {
    const ledger = new HopLedger();
    ledger.enable();
    const before = performance.timeOrigin + performance.now();
    ledger.record('server.receive', 'n1', 0, 0, '', 'corr-1');
    ledger.record('append.written', 'n1', 7, 2, 'n2');
    const after = performance.timeOrigin + performance.now();
    const { records, dropped } = ledger.drain();
    expect(dropped).toBe(0);
    expect(records.map((r) => [r.step, r.node, r.index, r.term, r.peer, r.tag])).toEqual([
      ['server.receive', 'n1', 0, 0, '', 'corr-1'],
      ['append.written', 'n1', 7, 2, 'n2', ''],
    ]);
    for (const r of records) {
      expect(r.atMs).toBeGreaterThanOrEqual(before);
      expect(r.atMs).toBeLessThanOrEqual(after);
    }
    expect(ledger.drain().records).toEqual([]);
  });

  it('starts the next batch with a drained record of the node a drain names', () => {
    const ledger = new HopLedger();
    ledger.enable(() => [7, 3]);
    ledger.record('propose', 'n1', 5, 1);
    expect(ledger.drain('n1').records.map((r) => r.step)).toEqual(['propose']);
    ledger.record('persist', 'n1', 5, 1);
    expect(ledger.drain().records.map((r) => [r.step, r.node, r.cpuMs, r.cpuWaitMs])).toEqual([
      ['drained', 'n1', 7, 3],
      ['persist', 'n1', 7, 3],
    ]);
    expect(ledger.drain().records).toEqual([]);
  });

  it('stamps each record with the CPU figures its sampler reads at that moment, and none without one', () => {
    const ledger = new HopLedger();
    let reads = 0;
    ledger.enable(() => {
      reads++;
      return [10 * reads, reads];
    });
    ledger.record('propose', 'n1', 5, 1);
    ledger.record('persist', 'n1', 5, 1);
    expect(ledger.drain().records.map((r) => [r.step, r.cpuMs, r.cpuWaitMs])).toEqual([
      ['propose', 10, 1],
      ['persist', 20, 2],
    ]);
    const unknown = new HopLedger();
    unknown.enable(() => undefined);
    unknown.record('apply', 'n1', 5, 1);
    const plain = new HopLedger();
    plain.enable();
    plain.record('apply', 'n1', 5, 1);
    for (const r of [...unknown.drain().records, ...plain.drain().records]) {
      expect(r).not.toHaveProperty('cpuMs');
      expect(r).not.toHaveProperty('cpuWaitMs');
    }
  });

  it('holds at most HOP_LEDGER_RECORDS_MAX records between drains and counts the rest as dropped', () => {
    const ledger = new HopLedger();
    ledger.enable();
    for (let i = 0; i < HOP_LEDGER_RECORDS_MAX + 3; i++) ledger.record('apply', 'n1', i, 1);
    const { records, dropped } = ledger.drain();
    expect(records).toHaveLength(HOP_LEDGER_RECORDS_MAX);
    expect(dropped).toBe(3);
    expect(ledger.drain().dropped).toBe(0);
  });

  it('is off in a process that did not enable it', () => {
    expect(hopLedger.enabled).toBe(false);
  });
});

describe('recordWireHops', () => {
  const wire = (m: Parameters<typeof messageToWire>[0]): WireMessage => messageToWire(m);

  it('records appends with entries, acknowledgements, TimeoutNow and votes, and skips the rest', () => {
    hopLedger.enable();
    hopLedger.drain();
    const append = (entries: Array<{ kind: 'noop'; index: number; term: number }>): WireMessage =>
      wire({
        type: 'append',
        from: 'n1',
        to: 'n2',
        term: 2,
        prevLogIndex: 4,
        prevLogTerm: 2,
        commit: 4,
        entries,
      });
    const written: WireMessage[] = [
      append([]),
      append([
        { kind: 'noop', index: 5, term: 2 },
        { kind: 'noop', index: 6, term: 2 },
      ]),
      wire({ type: 'timeoutNow', from: 'n1', to: 'n2', term: 2 }),
      wire({ type: 'heartbeat', from: 'n1', to: 'n2', term: 2, commit: 4, readSeq: 0 }),
    ];
    recordWireHops('written', 'n1', 'n2', written);
    const received: WireMessage[] = [
      wire({
        type: 'appendResponse',
        from: 'n2',
        to: 'n1',
        term: 2,
        reject: false,
        index: 6,
        hintIndex: 0,
        hintTerm: 0,
      }),
      wire({
        type: 'appendResponse',
        from: 'n2',
        to: 'n1',
        term: 2,
        reject: true,
        index: 6,
        hintIndex: 0,
        hintTerm: 0,
      }),
      wire({ type: 'voteResponse', from: 'n2', to: 'n1', term: 3, reject: false }),
      wire({ type: 'voteResponse', from: 'n2', to: 'n1', term: 3, reject: true }),
    ];
    recordWireHops('received', 'n1', 'n2', received);
    expect(hopLedger.drain().records.map((r) => [r.step, r.index, r.term, r.peer])).toEqual([
      ['append.written', 6, 2, 'n2'],
      ['timeoutNow.written', 0, 2, 'n2'],
      ['ack.received', 6, 2, 'n2'],
      ['vote.granted', 0, 3, 'n2'],
    ]);
  });

  it('records pre-vote requests written and pre-vote grants received, and skips the rest of the pre-vote round', () => {
    hopLedger.enable();
    hopLedger.drain();
    const preVote = wire({
      type: 'preVote',
      from: 'n1',
      to: 'n2',
      term: 4,
      lastLogIndex: 9,
      lastLogTerm: 3,
      reason: 'leaderUnreachable',
    });
    recordWireHops('written', 'n1', 'n2', [
      preVote,
      wire({ type: 'preVoteResponse', from: 'n1', to: 'n2', term: 4, reject: false }),
    ]);
    recordWireHops('received', 'n1', 'n2', [
      preVote,
      wire({ type: 'preVoteResponse', from: 'n2', to: 'n1', term: 4, reject: false }),
      wire({ type: 'preVoteResponse', from: 'n2', to: 'n1', term: 4, reject: true }),
    ]);
    expect(hopLedger.drain().records.map((r) => [r.step, r.term, r.peer])).toEqual([
      ['preVote.written', 4, 'n2'],
      ['preVote.granted', 4, 'n2'],
    ]);
  });
});
