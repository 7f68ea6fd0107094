import {
  availability,
  checkSlos,
  failoverMs,
  faultWindows,
  recoveryMs,
  regrantBoundMs,
  regrantMs,
  sloFigures,
} from '../../src/checkers/slo';
import { chaosErrorOf } from '../helpers/errors';
import type { TimelineRecord } from '../../src/history';
import { grantOp, op } from '../helpers/operations';

function at(ms: number, kind: TimelineRecord['kind'], fault: string, target?: string, scopes: string[] = []) {
  return { timeNs: BigInt(ms) * 1_000_000n, kind, fault, target, scopes, source: `timeline:${ms}` };
}

const killHolder = faultWindows([at(100, 'fault', 'kill-holder', 'a', ['s'])])[0]!;
const partition = faultWindows([
  at(100, 'fault', 'partition-leader', 'n1'),
  at(400, 'heal', 'partition-leader', 'n1'),
])[0]!;

const operations = [
  grantOp('a', 3n, [0, 1]),
  // Waiting before the fault, elected after it: the re-grant.
  op('b', 'campaign', { candidate: 'b', session: 'sb' }, [50, 350], { granted: true, fence: 9n }),
  op('c', 'renew', { fence: 4n }, [90, 150]), // invoked before the fault: not failover
  op('c', 'renew', { fence: 4n }, [150, 250], {}, 'info'),
  op('c', 'renew', { fence: 4n }, [260, 300]),
  op('c', 'renew', { fence: 4n }, [410, 420]),
];

describe('SLO figures', () => {
  it('pairs faults with their heals, and leaves a kill open', () => {
    expect(partition).toMatchObject({ startNs: 100_000_000n, endNs: 400_000_000n, target: 'n1' });
    expect(killHolder).toMatchObject({ endNs: null, scopes: ['s'] });
  });

  it('refuses a heal with no open fault, naming its line', () => {
    expect(chaosErrorOf(() => faultWindows([at(5, 'heal', 'partition-leader', 'n1')]))).toBe(
      'timeline:5: heal of partition-leader on n1 with no such fault open',
    );
  });

  it('measures failover from the fault to the first write invoked after it that succeeded', () => {
    expect(failoverMs(partition, operations)).toBe(200);
  });

  it('measures re-grant to another candidate, counting a campaign that was already waiting', () => {
    expect(regrantMs(killHolder, operations)).toBe(250);
    expect(regrantMs({ ...killHolder, target: 'b' }, operations)).toBeNull();
    expect(regrantBoundMs({ ttlMs: 2000, electionTimeoutMs: 1000, marginMs: 500 })).toBe(3500);
  });

  it('measures availability during the fault and recovery after the heal', () => {
    // Invoked in [100, 400]: b's campaign is not (50); c's renews at 150 (info), 260 (ok) are.
    expect(availability(partition, operations)).toBe(0.5);
    expect(recoveryMs(partition, operations)).toBe(20);
    expect(recoveryMs(killHolder, operations)).toBeNull();
    expect(availability({ ...partition, startNs: 10_000_000_000n, endNs: null }, operations)).toBeNull();
  });
});

describe('checkSlos', () => {
  const figures = sloFigures([killHolder, partition], operations);

  it('accepts figures within their bounds', () => {
    const result = checkSlos(figures, [
      { fault: 'kill-holder', regrantMsMax: 3500 },
      { fault: 'partition-leader', failoverMsMax: 1000, availabilityMin: 0.5, recoveryMsMax: 100 },
    ]);
    expect(result).toEqual({ checker: 'slo', verdict: 'valid', violations: [] });
  });

  it('flags a figure past its bound and one that never happened', () => {
    const result = checkSlos(figures, [
      { fault: 'kill-holder', regrantMsMax: 200, recoveryMsMax: 100 },
      { fault: 'partition-leader', availabilityMin: 0.9 },
    ]);
    expect(result.verdict).toBe('invalid');
    expect(result.violations).toEqual([
      'timeline:100: kill-holder on a: re-grant was 250 ms, expected at most 200 ms',
      'timeline:100: kill-holder on a: recovery never happened, expected at most 100 ms',
      'timeline:100: partition-leader on n1: availability was 0.5, expected at least 0.9',
    ]);
  });

  it('says a holder fault that found no holder did not measure re-grant, instead of "never happened"', () => {
    const nobody = faultWindows([at(100, 'fault', 'kill-holder', 'a', [])])[0]!;
    const result = checkSlos(sloFigures([nobody], operations), [
      { fault: 'kill-holder', regrantMsMax: 3500 },
    ]);
    expect(result.violations).toEqual([
      'timeline:100: kill-holder on a: re-grant was not measured: the fault found no worker holding a lease (give the workload time to acquire before it), expected at most 3500 ms',
    ]);
  });
});
