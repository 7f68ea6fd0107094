import type { Entry, Snapshot } from '../../src/core/index';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** AppliedCommand is one command the scenario state machine applied. */
export interface AppliedCommand {
  readonly index: number;
  readonly text: string;
}

/**
 * LogMachine is the scenario state machine: it records the text of each applied command with its
 * index, so a scenario shows the apply order and that nothing is applied twice. Its snapshot is
 * the JSON of that list.
 */
export class LogMachine {
  private commands: AppliedCommand[] = [];
  /** appliedIndex is the index of the last entry applied (commands and others alike). */
  appliedIndex = 0;

  /** fromSnapshot builds a machine restored from a snapshot's bytes. */
  static fromSnapshot(snapshot: Snapshot): LogMachine {
    const machine = new LogMachine();
    machine.restore(snapshot);
    return machine;
  }

  /** restore replaces the state by a snapshot's. */
  restore(snapshot: Snapshot): void {
    const text = decoder.decode(snapshot.data);
    this.commands = text === '' ? [] : (JSON.parse(text) as AppliedCommand[]);
    this.appliedIndex = snapshot.meta.index;
  }

  /** apply applies one committed entry; indexes must follow each other. */
  apply(entry: Entry): void {
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`state machine: applying ${entry.index} after ${this.appliedIndex}`);
    }
    if (entry.kind === 'command')
      this.commands.push({ index: entry.index, text: decoder.decode(entry.data) });
    this.appliedIndex = entry.index;
  }

  /** encodeUpTo returns the snapshot bytes of the state as of `index` (≤ appliedIndex). */
  encodeUpTo(index: number): Uint8Array {
    if (index > this.appliedIndex) {
      throw new Error(`state machine: snapshot at ${index} beyond applied ${this.appliedIndex}`);
    }
    return encoder.encode(JSON.stringify(this.commands.filter((c) => c.index <= index)));
  }

  /** describe prints the applied command texts in order. */
  describe(): string {
    return `[${this.commands.map((c) => c.text).join(' ')}]`;
  }
}
