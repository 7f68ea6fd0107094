import type { AppliedCommand, SnapshotCapture, SnapshotInstall, StateMachine } from '../../src/index';
import { wholeSnapshot } from '../../src/index';
import { installSnapshot } from '../../src/node/install-snapshot';

/** SlicedMachine installs a snapshot of `parts` comma-separated words, one word per slice. */
class SlicedMachine implements StateMachine<number> {
  state: string[] = ['old'];
  restores = 0;
  apply(_c: AppliedCommand): number {
    return 0;
  }
  captureSnapshot(): SnapshotCapture {
    return wholeSnapshot(Buffer.from(this.state.join(',')));
  }
  restore(data: Uint8Array): void {
    this.restores++;
    this.state = Buffer.from(data).toString().split(',');
  }
}

/** withSlices adds `beginRestore` to a SlicedMachine, recording what the state was before each slice. */
function withSlices(machine: SlicedMachine, seen: string[]): StateMachine<number> & SlicedMachine {
  return Object.assign(machine, {
    beginRestore: (data: Uint8Array): SnapshotInstall => {
      const words = Buffer.from(data).toString().split(',');
      const built: string[] = [];
      return {
        installSlice: () => {
          seen.push(machine.state.join(','));
          built.push(words[built.length]!);
          if (built.length < words.length) return false;
          machine.state = built;
          return true;
        },
      };
    },
  });
}

describe('installSnapshot', () => {
  it('installs one slice per event-loop turn and keeps the previous state until the last', async () => {
    const seen: string[] = [];
    const machine = withSlices(new SlicedMachine(), seen);
    // Each turn between slices runs what was queued with setImmediate: count those turns.
    let turns = 0;
    const probe = (): void => {
      turns++;
      if (turns < 100) setImmediate(probe);
    };
    setImmediate(probe);
    const installed = await installSnapshot(machine, Buffer.from('a,b,c,d'));
    expect(installed.slices).toBe(4);
    expect(machine.state).toEqual(['a', 'b', 'c', 'd']);
    expect(seen).toEqual(['old', 'old', 'old', 'old']);
    expect(machine.restores).toBe(0);
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it('restores at once a state machine without beginRestore', async () => {
    const machine = new SlicedMachine();
    const installed = await installSnapshot(machine, Buffer.from('a,b'));
    expect(installed.slices).toBe(1);
    expect(machine.state).toEqual(['a', 'b']);
    expect(machine.restores).toBe(1);
  });

  it('passes on what a slice throws for bad bytes', async () => {
    const machine = Object.assign(new SlicedMachine(), {
      beginRestore: (): SnapshotInstall => ({
        installSlice: () => {
          throw new Error('invalid snapshot: not one valid msgpack value');
        },
      }),
    });
    await expect(installSnapshot(machine, Buffer.from('x'))).rejects.toThrow('not one valid msgpack value');
    expect(machine.state).toEqual(['old']);
  });
});
