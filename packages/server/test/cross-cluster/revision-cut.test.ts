import type { MirrorChange } from '@omnirelay/leadership-fsm';
import { MIRROR_CHANGES_MAX } from '@omnirelay/leadership-fsm';
import { mirrorCommands } from '../../src/cross-cluster/resync';
import { revisionCut } from '../../src/cross-cluster/revision-cut';

const at = (...revisions: number[]): { revision: number }[] => revisions.map((revision) => ({ revision }));

function changes(revisions: readonly number[]): MirrorChange[] {
  return revisions.map((revision, i) => ({ scope: `s/${i}`, revision, holder: null }));
}

describe('revisionCut', () => {
  it('takes everything when it fits', () => {
    expect(revisionCut(at(1, 2, 3), 0)).toBe(3);
  });

  it('cuts at MIRROR_CHANGES_MAX between two revisions', () => {
    const items = at(...Array.from({ length: MIRROR_CHANGES_MAX + 5 }, (_, i) => i + 1));
    expect(revisionCut(items, 0)).toBe(MIRROR_CHANGES_MAX);
    expect(revisionCut(items, MIRROR_CHANGES_MAX)).toBe(MIRROR_CHANGES_MAX + 5);
  });

  it('never splits a revision: it cuts before the revision that crosses the bound', () => {
    const items = at(
      ...Array.from({ length: MIRROR_CHANGES_MAX - 2 }, (_, i) => i + 1),
      9_000,
      9_000,
      9_000,
      9_001,
    );
    expect(revisionCut(items, 0)).toBe(MIRROR_CHANGES_MAX - 2);
  });

  it('keeps one revision larger than the bound whole', () => {
    const items = at(...Array.from({ length: MIRROR_CHANGES_MAX + 3 }, () => 7), 8);
    expect(revisionCut(items, 0)).toBe(MIRROR_CHANGES_MAX + 3);
  });
});

describe('mirrorCommands', () => {
  it('resets first, rises strictly, and ends at the listing revision', () => {
    const revisions = Array.from({ length: 2 * MIRROR_CHANGES_MAX + 1 }, (_, i) => 10 + i);
    const commands = mirrorCommands('a', 5_000, changes(revisions));
    expect(commands.map((c) => [c.reset === true, c.changes.length, c.toRevision])).toEqual([
      [true, MIRROR_CHANGES_MAX, 10 + MIRROR_CHANGES_MAX - 1],
      [false, MIRROR_CHANGES_MAX, 10 + 2 * MIRROR_CHANGES_MAX - 1],
      [false, 1, 5_000],
    ]);
  });

  it('resets to an empty mirror when the active cluster holds nothing', () => {
    expect(mirrorCommands('a', 42, [])).toMatchObject([{ reset: true, changes: [], toRevision: 42 }]);
  });
});
