import type { Message, NodeId } from '../../src/core/index';

/** MessageFilter selects queued messages; an absent field matches everything. */
export interface MessageFilter {
  readonly from?: NodeId;
  readonly to?: NodeId;
  /** types, when present, lists the message types that match. */
  readonly types?: readonly string[];
  /** skip passes over this many matching messages first. */
  readonly skip: number;
  /** limit takes at most this many matching messages. */
  readonly limit: number;
}

/** QUEUED_MESSAGES_MAX bounds the manual network's queue: a scenario that overflows it is runaway. */
export const QUEUED_MESSAGES_MAX = 10_000;

/**
 * ManualNetwork is the scenario network: a FIFO queue of messages that moves only when a command
 * delivers or drops them, plus a partition that cuts links between groups at delivery time.
 */
export class ManualNetwork {
  private queue: Message[] = [];
  /** groupOf maps each listed node to its partition group; an unlisted node is a group of its own. */
  private groupOf: Map<NodeId, number> | undefined;

  /** size is the number of queued messages. */
  get size(): number {
    return this.queue.length;
  }

  /** send queues messages at the end. */
  send(messages: readonly Message[]): void {
    if (this.queue.length + messages.length > QUEUED_MESSAGES_MAX) {
      throw new Error(`network: more than ${QUEUED_MESSAGES_MAX} messages queued`);
    }
    this.queue.push(...messages);
  }

  /** take removes and returns the messages that match `filter`, in queue order. */
  take(filter: MessageFilter): Message[] {
    const taken: Message[] = [];
    const kept: Message[] = [];
    let matched = 0;
    for (const m of this.queue) {
      if (this.matches(m, filter)) {
        matched++;
        if (matched > filter.skip && taken.length < filter.limit) {
          taken.push(m);
          continue;
        }
      }
      kept.push(m);
    }
    this.queue = kept;
    return taken;
  }

  /** duplicate queues a copy of every message that matches `filter` at the end and returns the copies. */
  duplicate(filter: MessageFilter): Message[] {
    const copies: Message[] = [];
    let matched = 0;
    for (const m of this.queue) {
      if (!this.matches(m, filter)) continue;
      matched++;
      if (matched > filter.skip && copies.length < filter.limit) copies.push({ ...m });
    }
    this.send(copies);
    return copies;
  }

  /** dropFrom removes every queued message sent by `id` (its unsent buffers die with it). */
  dropFrom(id: NodeId): number {
    const before = this.queue.length;
    this.queue = this.queue.filter((m) => m.from !== id);
    return before - this.queue.length;
  }

  /** queued lists the queue, for the `queue` command. */
  queued(): readonly Message[] {
    return this.queue;
  }

  /** partition cuts every link between two different groups. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.groupOf = new Map();
    groups.forEach((group, i) => {
      for (const id of group) this.groupOf!.set(id, i);
    });
  }

  /** heal removes the partition. */
  heal(): void {
    this.groupOf = undefined;
  }

  /** isCut tells whether the partition separates `from` and `to`. */
  isCut(from: NodeId, to: NodeId): boolean {
    if (this.groupOf === undefined) return false;
    const a = this.groupOf.get(from);
    const b = this.groupOf.get(to);
    return a === undefined || b === undefined || a !== b;
  }

  private matches(m: Message, f: MessageFilter): boolean {
    return (
      (f.from === undefined || m.from === f.from) &&
      (f.to === undefined || m.to === f.to) &&
      (f.types === undefined || f.types.includes(m.type))
    );
  }
}
