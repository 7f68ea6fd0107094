import { Progress } from '../../src/core/index';

describe('Progress', () => {
  it('starts probing with nothing matched', () => {
    const pr = new Progress(5, 4);
    expect(pr).toMatchObject({ match: 0, next: 5, state: 'probe', probeSent: false });
  });

  it('records an acknowledgement and moves next past it', () => {
    const pr = new Progress(2, 4);
    expect(pr.maybeUpdate(7)).toBe(true);
    expect(pr.match).toBe(7);
    expect(pr.next).toBe(8);
  });

  it('never moves match back on a stale acknowledgement', () => {
    const pr = new Progress(2, 4);
    pr.maybeUpdate(7);
    expect(pr.maybeUpdate(3)).toBe(false);
    expect(pr.match).toBe(7);
    expect(pr.next).toBe(8);
  });

  it('keeps next when an acknowledgement is below an optimistic next', () => {
    const pr = new Progress(2, 4);
    pr.maybeUpdate(3);
    pr.becomeReplicate();
    pr.next = 10;
    expect(pr.maybeUpdate(5)).toBe(true);
    expect(pr.next).toBe(10);
  });

  it('unpauses a probe once an acknowledgement arrives', () => {
    const pr = new Progress(2, 4);
    pr.probeSent = true;
    expect(pr.isPaused()).toBe(true);
    pr.maybeUpdate(1);
    expect(pr.isPaused()).toBe(false);
  });

  it('moves a probing next to the hint plus one', () => {
    const pr = new Progress(10, 4);
    expect(pr.maybeDecrTo(9, 4)).toBe(true);
    expect(pr.next).toBe(5);
    expect(pr.probeSent).toBe(false);
  });

  it('never moves next below match plus one on a bad hint', () => {
    const pr = new Progress(10, 4);
    pr.maybeUpdate(6);
    pr.next = 10;
    expect(pr.maybeDecrTo(9, 0)).toBe(true);
    expect(pr.next).toBe(7);
    expect(pr.match).toBe(6);
  });

  it('never moves next above the rejected index on a hint past it', () => {
    const pr = new Progress(10, 4);
    expect(pr.maybeDecrTo(9, 50)).toBe(true);
    expect(pr.next).toBe(9);
  });

  it('ignores a probing rejection that is not of the last probe', () => {
    const pr = new Progress(10, 4);
    expect(pr.maybeDecrTo(7, 2)).toBe(false);
    expect(pr.next).toBe(10);
  });

  it('ignores a replicating rejection at or below match', () => {
    const pr = new Progress(1, 4);
    pr.maybeUpdate(5);
    pr.becomeReplicate();
    pr.next = 9;
    expect(pr.maybeDecrTo(5, 0)).toBe(false);
    expect(pr.maybeDecrTo(3, 0)).toBe(false);
    expect(pr.next).toBe(9);
  });

  it('falls back to probe at match plus one on a replicating rejection whose hint is below match', () => {
    const pr = new Progress(1, 4);
    pr.maybeUpdate(5);
    pr.becomeReplicate();
    pr.next = 9;
    expect(pr.maybeDecrTo(8, 2)).toBe(true);
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(6);
  });

  it('falls back to probe at the hint plus one on a replicating rejection whose hint is above match', () => {
    const pr = new Progress(1, 4);
    pr.maybeUpdate(5);
    pr.becomeReplicate();
    pr.next = 12;
    pr.inflights.add(11);
    expect(pr.maybeDecrTo(10, 7)).toBe(true);
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(8);
    expect(pr.inflights.count).toBe(0);
    // The rejections of the other appends in flight before the fallback are stale now.
    expect(pr.maybeDecrTo(11, 7)).toBe(false);
    expect(pr.next).toBe(8);
  });

  it('streams from its next before any acknowledgement when started optimistically', () => {
    const pr = new Progress(11, 4);
    pr.replicateOptimistically();
    expect(pr.state).toBe('replicate');
    expect(pr.match).toBe(0);
    expect(pr.next).toBe(11);
    expect(pr.isPaused()).toBe(false);
  });

  it('probes from the hint, not from index 1, when an optimistic start is rejected', () => {
    const pr = new Progress(11, 4);
    pr.replicateOptimistically();
    pr.next = 13;
    expect(pr.maybeDecrTo(10, 6)).toBe(true);
    expect(pr).toMatchObject({ state: 'probe', match: 0, next: 7 });
  });

  it('probes from where an unanswered optimistic start began when it falls back without a rejection', () => {
    const pr = new Progress(11, 4);
    pr.replicateOptimistically();
    pr.next = 13;
    pr.becomeProbe();
    expect(pr).toMatchObject({ state: 'probe', match: 0, next: 11 });
  });

  it('forgets the optimistic start once the member acknowledged something', () => {
    const pr = new Progress(11, 4);
    pr.replicateOptimistically();
    pr.maybeUpdate(11);
    pr.next = 14;
    pr.becomeProbe();
    expect(pr).toMatchObject({ state: 'probe', match: 11, next: 12 });
  });

  it('pauses a replicating follower only when the window is full', () => {
    const pr = new Progress(1, 2);
    pr.becomeReplicate();
    pr.inflights.add(1);
    expect(pr.isPaused()).toBe(false);
    pr.inflights.add(2);
    expect(pr.isPaused()).toBe(true);
  });

  it('pauses while a snapshot is in flight and resumes past it', () => {
    const pr = new Progress(1, 2);
    pr.maybeUpdate(2);
    pr.becomeSnapshot(10);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(11);
    expect(pr.isPaused()).toBe(false);
  });

  it('resets the window when it changes state', () => {
    const pr = new Progress(1, 2);
    pr.becomeReplicate();
    pr.inflights.add(1);
    pr.inflights.add(2);
    pr.becomeProbe();
    expect(pr.inflights.count).toBe(0);
    expect(pr.next).toBe(pr.match + 1);
  });

  it('keeps match below next through any sequence of updates and rejections', () => {
    const pr = new Progress(1, 3);
    const steps: Array<[string, number, number]> = [
      ['update', 4, 0],
      ['decr', 3, 0],
      ['replicate', 0, 0],
      ['decr', 9, 1],
      ['update', 2, 0],
      ['decr', 4, 100],
      ['update', 8, 0],
      ['snapshot', 12, 0],
      ['probe', 0, 0],
      ['decr', 12, 0],
    ];
    for (const [op, a, b] of steps) {
      if (op === 'update') pr.maybeUpdate(a);
      else if (op === 'decr') pr.maybeDecrTo(a, b);
      else if (op === 'replicate') pr.becomeReplicate();
      else if (op === 'snapshot') pr.becomeSnapshot(a);
      else pr.becomeProbe();
      expect(pr.match).toBeLessThan(pr.next);
    }
    expect(pr.match).toBe(8);
  });
});
