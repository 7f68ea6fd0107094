import type { StateMachine } from './state-machine';

/** InstalledSnapshot says in how many slices a snapshot was installed and how long the longest took. */
export interface InstalledSnapshot {
  readonly slices: number;
  readonly sliceMsMax: number;
}

/**
 * installSnapshot replaces `stateMachine`'s state with snapshot `data`: one slice per event-loop
 * turn (setImmediate lets timers and I/O run between slices) when the state machine has
 * `beginRestore`, else with `restore` in one go. It resolves once the state machine holds the
 * snapshot's state; until then it holds its previous one.
 */
export async function installSnapshot(
  stateMachine: StateMachine,
  data: Uint8Array,
): Promise<InstalledSnapshot> {
  let sliceStarted = performance.now();
  if (stateMachine.beginRestore === undefined) {
    stateMachine.restore(data);
    return { slices: 1, sliceMsMax: performance.now() - sliceStarted };
  }
  const install = stateMachine.beginRestore(data);
  let slices = 0;
  let sliceMsMax = 0;
  for (;;) {
    if (slices > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStarted = performance.now();
    }
    const done = install.installSlice();
    sliceMsMax = Math.max(sliceMsMax, performance.now() - sliceStarted);
    slices++;
    if (done) return { slices, sliceMsMax };
  }
}
