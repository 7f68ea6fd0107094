import type { Entry } from '../../src/core/index';
import {
  checkCommittedDurable,
  checkElectionSafety,
  checkLeaderAppendOnly,
  checkLeaderCompleteness,
  checkLogMatching,
  checkProposalAccepted,
  checkProposalOutcome,
  checkReadIndex,
  checkReadIssued,
  checkReadServed,
  checkSnapshotRestore,
  checkStateMachineSafety,
  isSafetyViolation,
} from './checkers';
import type { ReadyObservation } from './checkers';
import { entryDigest } from './entry-digest';
import { encodeSet } from './kv-state-machine';
import { LogView } from './log-view';
import type { ProposalRecord } from './safety-history';
import { SafetyHistory } from './safety-history';

function cmd(index: number, term: number, value = `v${index}.${term}`): Entry {
  return { kind: 'command', index, term, data: encodeSet('k', value) };
}

function noop(index: number, term: number): Entry {
  return { kind: 'noop', index, term };
}

function observation(partial: Partial<ReadyObservation>): ReadyObservation {
  return {
    node: 'n1',
    incarnation: 1,
    role: 'leader',
    term: 2,
    entries: [],
    snapshotIndex: undefined,
    lastIndexBefore: 0,
    lastIndexAfter: 0,
    ...partial,
  };
}

/** applyAll has `node` apply `entries` at `term`, as the simulator does. */
function applyAll(history: SafetyHistory, node: string, entries: readonly Entry[], term: number): void {
  for (const e of entries) {
    checkStateMachineSafety(history, node, e, term);
  }
}

function proposal(id: string, index: number, term: number, entry: Entry): ProposalRecord {
  return { id, node: 'n1', index, term, digest: entryDigest(entry), outcome: 'pending' };
}

describe('checkElectionSafety', () => {
  it('accepts one leader per term, seen any number of times', () => {
    const h = new SafetyHistory(3);
    checkElectionSafety(h, 'n1', 1, 'leader');
    checkElectionSafety(h, 'n1', 1, 'leader');
    checkElectionSafety(h, 'n2', 1, 'follower');
    checkElectionSafety(h, 'n2', 2, 'leader');
    expect(h.leaderOfTerm.get(1)).toBe('n1');
    expect(h.leaderOfTerm.get(2)).toBe('n2');
  });

  it('fails when a second node leads a term, even after the first stepped down', () => {
    const h = new SafetyHistory(3);
    checkElectionSafety(h, 'n1', 3, 'leader');
    checkElectionSafety(h, 'n1', 3, 'follower');
    expect(() => checkElectionSafety(h, 'n2', 3, 'leader')).toThrow(
      'checkElectionSafety: term 3 has two leaders: n1 and n2',
    );
  });

  it('throws a SafetyViolation that a guard recognises', () => {
    const h = new SafetyHistory(3);
    checkElectionSafety(h, 'n1', 1, 'leader');
    let caught: unknown;
    try {
      checkElectionSafety(h, 'n2', 1, 'leader');
    } catch (e: unknown) {
      caught = e;
    }
    expect(isSafetyViolation(caught)).toBe(true);
    expect(isSafetyViolation(new Error('x'))).toBe(false);
  });
});

describe('checkLeaderAppendOnly', () => {
  it('accepts a leader that only appends entries of its term', () => {
    const h = new SafetyHistory(3);
    checkLeaderAppendOnly(h, observation({ entries: [noop(3, 2)], lastIndexBefore: 2, lastIndexAfter: 3 }));
    checkLeaderAppendOnly(h, observation({ entries: [cmd(4, 2)], lastIndexBefore: 3, lastIndexAfter: 4 }));
    checkLeaderAppendOnly(h, observation({ entries: [], lastIndexBefore: 4, lastIndexAfter: 4 }));
  });

  it('fails when a leader overwrites its own log within its term', () => {
    const h = new SafetyHistory(3);
    checkLeaderAppendOnly(
      h,
      observation({ entries: [noop(3, 2), cmd(4, 2)], lastIndexBefore: 2, lastIndexAfter: 4 }),
    );
    expect(() =>
      checkLeaderAppendOnly(
        h,
        observation({ entries: [cmd(4, 2, 'other')], lastIndexBefore: 4, lastIndexAfter: 4 }),
      ),
    ).toThrow(
      'checkLeaderAppendOnly: leader n1 of term 2 overwrote its log from index 4 (its log ended at 4)',
    );
  });

  it('fails when a leader appends an entry of another term, shrinks its log or installs a snapshot', () => {
    const h = new SafetyHistory(3);
    checkLeaderAppendOnly(h, observation({ entries: [noop(3, 2)], lastIndexBefore: 2, lastIndexAfter: 3 }));
    expect(() =>
      checkLeaderAppendOnly(h, observation({ entries: [cmd(4, 1)], lastIndexBefore: 3, lastIndexAfter: 4 })),
    ).toThrow('checkLeaderAppendOnly: leader n1 of term 2 appended entry 4 of term 1');
    checkLeaderAppendOnly(h, observation({ entries: [], lastIndexBefore: 3, lastIndexAfter: 3 }));
    expect(() => checkLeaderAppendOnly(h, observation({ lastIndexBefore: 2, lastIndexAfter: 2 }))).toThrow(
      'checkLeaderAppendOnly: leader n1 of term 2 shrank its log from 3 to 2',
    );
    checkLeaderAppendOnly(h, observation({ lastIndexBefore: 3, lastIndexAfter: 3 }));
    expect(() =>
      checkLeaderAppendOnly(h, observation({ snapshotIndex: 9, lastIndexBefore: 3, lastIndexAfter: 9 })),
    ).toThrow('checkLeaderAppendOnly: leader n1 of term 2 installed a snapshot at 9');
  });

  it('does not compare across a step-down, a new term or a restart', () => {
    const h = new SafetyHistory(3);
    checkLeaderAppendOnly(h, observation({ entries: [noop(3, 2)], lastIndexBefore: 2, lastIndexAfter: 3 }));
    // A restarted process (new incarnation) may have lost its unsynced tail.
    checkLeaderAppendOnly(
      h,
      observation({ incarnation: 2, role: 'follower', lastIndexBefore: 2, lastIndexAfter: 2 }),
    );
    checkLeaderAppendOnly(
      h,
      observation({ incarnation: 2, term: 4, entries: [noop(3, 4)], lastIndexBefore: 2, lastIndexAfter: 3 }),
    );
  });
});

describe('checkLogMatching', () => {
  it('accepts logs that agree on every shared (index, term)', () => {
    const h = new SafetyHistory(3);
    const entries = [noop(1, 1), cmd(2, 1), cmd(3, 2)];
    checkLogMatching(h, 'n1', LogView.fromEntries(0, 0, entries), entries);
    checkLogMatching(h, 'n2', LogView.fromEntries(0, 0, entries.slice(0, 2)), entries.slice(0, 2));
  });

  it('fails when two logs hold different entries at one (index, term)', () => {
    const h = new SafetyHistory(3);
    const a = [noop(1, 1), cmd(2, 1, 'x')];
    const b = [noop(1, 1), cmd(2, 1, 'y')];
    checkLogMatching(h, 'n1', LogView.fromEntries(0, 0, a), a);
    expect(() => checkLogMatching(h, 'n2', LogView.fromEntries(0, 0, b), b)).toThrow(
      /^checkLogMatching: entry 2@1 differs between n1 and n2/,
    );
  });

  it('fails when two logs share an (index, term) but differ before it', () => {
    const h = new SafetyHistory(3);
    const a = [noop(1, 1), cmd(2, 1), cmd(3, 3)];
    const b = [noop(1, 1), cmd(2, 2), cmd(3, 3)];
    checkLogMatching(h, 'n1', LogView.fromEntries(0, 0, a), a);
    expect(() => checkLogMatching(h, 'n2', LogView.fromEntries(0, 0, b), b)).toThrow(
      'checkLogMatching: entry 3@3 follows term 1 at 2 on n1 but term 2 on n2',
    );
  });

  it('compares only what each log still holds, with a snapshot term as the predecessor', () => {
    const h = new SafetyHistory(3);
    const full = [noop(1, 1), cmd(2, 1), cmd(3, 2), cmd(4, 2)];
    checkLogMatching(h, 'n1', LogView.fromEntries(0, 0, full), full);
    // n2 compacted through 3@2; its log starts at 4 and the snapshot stands for 3@2.
    checkLogMatching(h, 'n2', LogView.fromEntries(3, 2, full.slice(3)), full.slice(3));
    // n3's snapshot claims 3@1: its entry 4@2 then follows term 1, which n1's does not.
    expect(() => checkLogMatching(h, 'n3', LogView.fromEntries(3, 1, full.slice(3)), full.slice(3))).toThrow(
      'checkLogMatching: entry 4@2 follows term 2 at 3 on n1 but term 1 on n3',
    );
  });
});

describe('checkLeaderCompleteness', () => {
  it('accepts a later leader that holds every entry committed in earlier terms', () => {
    const h = new SafetyHistory(3);
    const entries = [noop(1, 1), cmd(2, 1)];
    applyAll(h, 'n1', entries, 1);
    checkLeaderCompleteness(h, 'n2', 1, 2, LogView.fromEntries(0, 0, [...entries, noop(3, 2)]));
  });

  it('fails when a leader of a later term lacks or replaced a committed entry', () => {
    const h = new SafetyHistory(3);
    applyAll(h, 'n1', [noop(1, 1), cmd(2, 1)], 1);
    expect(() => checkLeaderCompleteness(h, 'n2', 1, 2, LogView.fromEntries(0, 0, [noop(1, 1)]))).toThrow(
      'checkLeaderCompleteness: n2, leader of term 2, holds nothing (log ends at 1) at 2, where 2@1 was committed by term 1',
    );
    expect(() =>
      checkLeaderCompleteness(h, 'n3', 1, 3, LogView.fromEntries(0, 0, [noop(1, 1), noop(2, 2)])),
    ).toThrow(
      'checkLeaderCompleteness: n3, leader of term 3, holds term 2 at 2, where 2@1 was committed by term 1',
    );
  });

  it('skips entries committed in the leader term or later, and entries the leader compacted', () => {
    const h = new SafetyHistory(3);
    applyAll(h, 'n1', [noop(1, 1), cmd(2, 3)], 3);
    // Committed by term 3 at the earliest: a (stale) leader of term 2 need not hold it.
    checkLeaderCompleteness(h, 'n2', 1, 2, LogView.fromEntries(0, 0, [noop(1, 1)]));
    // A leader of term 4 that compacted through 2 has nothing left to compare.
    checkLeaderCompleteness(h, 'n3', 1, 4, new LogView(2, 3));
  });

  it('resumes a leader scan where it stopped', () => {
    const h = new SafetyHistory(3);
    applyAll(h, 'n1', [noop(1, 1)], 1);
    const view = LogView.fromEntries(0, 0, [noop(1, 1), noop(2, 2)]);
    checkLeaderCompleteness(h, 'n2', 1, 2, view);
    expect(h.completeness.get('n2')?.scanned).toBe(1);
    applyAll(h, 'n1', [noop(2, 2)], 2);
    checkLeaderCompleteness(h, 'n2', 1, 2, view);
    expect(h.completeness.get('n2')?.scanned).toBe(2);
  });
});

describe('checkStateMachineSafety', () => {
  it('accepts every node applying the same sequence, once each, in order', () => {
    const h = new SafetyHistory(3);
    const entries = [noop(1, 1), cmd(2, 1), cmd(3, 1)];
    expect(checkStateMachineSafety(h, 'n1', entries[0]!, 1)).toBe(true);
    expect(checkStateMachineSafety(h, 'n2', entries[0]!, 1)).toBe(false);
    applyAll(h, 'n1', entries.slice(1), 1);
    applyAll(h, 'n2', entries.slice(1), 2);
    expect(h.appliedMax).toBe(3);
    expect(h.commitTermBound[2]).toBe(1);
  });

  it('fails when two nodes apply different entries at one index', () => {
    const h = new SafetyHistory(3);
    applyAll(h, 'n1', [noop(1, 1), cmd(2, 1, 'a')], 1);
    applyAll(h, 'n2', [noop(1, 1)], 1);
    expect(() => checkStateMachineSafety(h, 'n2', cmd(2, 2, 'b'), 2)).toThrow(
      /^checkStateMachineSafety: n2 applied 2@2 but 2@1 was applied before/,
    );
  });

  it('fails when a node skips or repeats an index', () => {
    const h = new SafetyHistory(3);
    applyAll(h, 'n1', [noop(1, 1)], 1);
    expect(() => checkStateMachineSafety(h, 'n1', noop(1, 1), 1)).toThrow(
      'checkStateMachineSafety: n1 applied 1@1 after 1 (not exactly once, in order)',
    );
    expect(() => checkStateMachineSafety(h, 'n2', noop(2, 1), 1)).toThrow(
      'checkStateMachineSafety: n2 applied 2@1 after 0 (not exactly once, in order)',
    );
  });

  it('follows a node across a restart from a snapshot, and refuses a snapshot of another history', () => {
    const h = new SafetyHistory(3);
    const entries = [noop(1, 1), cmd(2, 1), cmd(3, 1)];
    applyAll(h, 'n1', entries, 1);
    checkSnapshotRestore(h, 'n1', 2, 1, h.chains[2]!);
    applyAll(h, 'n1', entries.slice(2), 1);
    expect(() => checkSnapshotRestore(h, 'n2', 2, 1, 12345)).toThrow(
      'checkStateMachineSafety: n2 restored a snapshot at 2@1 whose state differs from the applied sequence (2@1)',
    );
    expect(() => checkSnapshotRestore(h, 'n2', 9, 1, 0)).toThrow(
      'checkStateMachineSafety: n2 restored a snapshot at 9, beyond anything applied (3)',
    );
  });
});

describe('checkCommittedDurable', () => {
  it('accepts an entry durable on a majority, counting snapshots that cover it', () => {
    const h = new SafetyHistory(3);
    applyAll(h, 'n1', [noop(1, 1)], 1);
    const logs = [
      ['n1', { firstIndex: () => 2, term: () => undefined }],
      ['n2', { firstIndex: () => 1, term: (i: number) => (i === 1 ? 1 : undefined) }],
      ['n3', { firstIndex: () => 1, term: () => undefined }],
    ] as const;
    checkCommittedDurable(h, 1, logs);
  });

  it('fails when an applied entry is durable on too few nodes', () => {
    const h = new SafetyHistory(5);
    applyAll(h, 'n1', [noop(1, 1)], 1);
    const logs = [
      ['n1', { firstIndex: () => 1, term: (i: number) => (i === 1 ? 1 : undefined) }],
      ['n2', { firstIndex: () => 1, term: () => undefined }],
    ] as const;
    expect(() => checkCommittedDurable(h, 1, logs)).toThrow(
      'checkCommittedDurable: 1@1 was applied but is durable only on [n1], fewer than 3 of 5 voters',
    );
  });
});

describe('checkProposalAccepted and checkProposalOutcome', () => {
  it('settles a proposal committed with its own entry, and one whose entry lost to another term', () => {
    const h = new SafetyHistory(3);
    const mine = cmd(1, 1, 'mine');
    const p1 = proposal('p1', 1, 1, mine);
    const p2 = proposal('p2', 2, 1, cmd(2, 1, 'lost'));
    checkProposalAccepted(h, p1);
    checkProposalAccepted(h, p2);
    applyAll(h, 'n1', [mine], 1);
    checkProposalOutcome(h, mine);
    const other = cmd(2, 2, 'theirs');
    applyAll(h, 'n1', [other], 2);
    checkProposalOutcome(h, other);
    expect(p1.outcome).toBe('committed');
    expect(p2.outcome).toBe('failed');
  });

  it('fails when a proposal would resolve with someone else’s entry of its term', () => {
    const h = new SafetyHistory(3);
    checkProposalAccepted(h, proposal('p1', 1, 1, cmd(1, 1, 'mine')));
    expect(() => checkProposalOutcome(h, cmd(1, 1, 'theirs'))).toThrow(
      'checkProposalOutcome: proposal p1 accepted by n1 at 1@1 found a different entry of the same term applied there',
    );
  });

  it('fails a proposal at an applied index at once, unless that shows a missing committed entry', () => {
    const h = new SafetyHistory(3);
    applyAll(h, 'n1', [noop(1, 2)], 2);
    // A deposed leader of term 1 may still append at 1: its proposal fails.
    const stale = proposal('p1', 1, 1, cmd(1, 1));
    checkProposalAccepted(h, stale);
    expect(stale.outcome).toBe('failed');
    // A leader of term 3 handing out index 1 lacks an entry committed by term 2.
    expect(() => checkProposalAccepted(h, proposal('p2', 1, 3, cmd(1, 3)))).toThrow(
      'checkProposalOutcome: n1 accepted proposal p2 at 1@3, but 1@2 is already applied (committed by term 2)',
    );
  });
});

describe('checkReadIndex', () => {
  it('accepts a read confirmed at or above everything applied before it, served once applied', () => {
    const h = new SafetyHistory(3);
    applyAll(h, 'n1', [noop(1, 1)], 1);
    checkReadIssued(h, 'n1', 'r1');
    checkReadIndex(h, 'n1', { requestId: 'r1', index: 1 });
    checkReadServed(h, 'n1', 'r1', 1);
    expect(h.reads.get('r1')?.served).toBe(true);
  });

  it('fails a read confirmed below an index applied before it was issued (not linearizable)', () => {
    const h = new SafetyHistory(3);
    applyAll(h, 'n1', [noop(1, 1), noop(2, 1)], 1);
    checkReadIssued(h, 'n2', 'r1');
    expect(() => checkReadIndex(h, 'n2', { requestId: 'r1', index: 1 })).toThrow(
      'checkReadIndex: n2 confirmed read r1 at index 1, below index 2 applied before it was issued',
    );
  });

  it('fails a read served before its index applied, confirmed twice, or unknown', () => {
    const h = new SafetyHistory(3);
    checkReadIssued(h, 'n1', 'r1');
    checkReadIndex(h, 'n1', { requestId: 'r1', index: 4 });
    expect(() => checkReadServed(h, 'n1', 'r1', 3)).toThrow(
      'checkReadIndex: n1 served read r1 at applied 3, below its read index 4',
    );
    expect(() => checkReadIndex(h, 'n1', { requestId: 'r1', index: 4 })).toThrow(
      'checkReadIndex: n1 confirmed read r1 twice',
    );
    expect(() => checkReadIndex(h, 'n1', { requestId: 'r9', index: 4 })).toThrow(
      'checkReadIndex: n1 confirmed unknown read r9',
    );
  });
});
