import type { Message } from './messages';

/**
 * Outbox queues outgoing messages in two lanes (see Ready). A leader's appends, heartbeats,
 * snapshots and TimeoutNow, and pre-vote traffic, promise nothing durable and may leave at
 * once; every other message (votes cast, append and heartbeat acknowledgements) promises state
 * that must be durable first.
 */
export class Outbox {
  private early: Message[] = [];
  private afterPersist: Message[] = [];

  /** constructor takes the incarnation to stamp on every message (none when undefined). */
  constructor(private readonly incarnation?: string) {}

  /** push queues `m`, stamped with this node's incarnation, in its lane. */
  push(message: Message): void {
    const m = this.incarnation === undefined ? message : { ...message, incarnation: this.incarnation };
    const early =
      m.type === 'append' ||
      m.type === 'heartbeat' ||
      m.type === 'snapshot' ||
      m.type === 'timeoutNow' ||
      m.type === 'preVote' ||
      m.type === 'preVoteResponse';
    (early ? this.early : this.afterPersist).push(m);
  }

  /** isEmpty is true when nothing is queued. */
  isEmpty(): boolean {
    return this.early.length === 0 && this.afterPersist.length === 0;
  }

  /** takeEarly hands the early lane over (see RaftCore.takeEarlyMessages) and empties it. */
  takeEarly(): Message[] {
    const early = this.early;
    this.early = [];
    return early;
  }

  /** take hands both lanes over (to a Ready) and empties the outbox. */
  take(): { early: Message[]; afterPersist: Message[] } {
    const out = { early: this.early, afterPersist: this.afterPersist };
    this.early = [];
    this.afterPersist = [];
    return out;
  }
}
