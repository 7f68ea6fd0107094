import * as grpc from '@grpc/grpc-js';
import type { ForwardedAnswer, ForwardedCall } from './forward-stream';

/**
 * FORWARD_UNIMPLEMENTED_RETRY_MS is how long a member forwards each call as a call of its own to a
 * leader that answered Forward UNIMPLEMENTED (an older build, during a rolling upgrade) before it
 * tries Forward there again.
 */
export const FORWARD_UNIMPLEMENTED_RETRY_MS = 60_000;

/**
 * MuxOutcome is how a call sent over Forward ended: the leader's answer; the Forward call ended
 * before it (its status); or the leader has no Forward method, so the call was not served and
 * goes as a call of its own.
 */
export type MuxOutcome =
  | { readonly kind: 'answer'; readonly answer: ForwardedAnswer }
  | { readonly kind: 'broken'; readonly status: grpc.StatusObject }
  | { readonly kind: 'unimplemented' };

/** ForwardMuxOptions is what a ForwardMux needs. */
export interface ForwardMuxOptions {
  /** client is the channel to the leader's public gRPC port. */
  readonly client: grpc.Client;
  /** method is Cluster.Forward's definition (its path and codecs). */
  readonly method: grpc.MethodDefinition<unknown, unknown>;
  /** metadata is sent when a Forward call opens (who forwards). */
  readonly metadata: () => grpc.Metadata;
  /** onUnimplemented hears that the leader has no Forward, so calls go on their own until `retryAtMs`. */
  readonly onUnimplemented?: (retryAtMs: number) => void;
}

/**
 * ForwardMux carries the unary calls a follower forwards to one leader address over one Forward
 * call (opened at the first, and again after one ended), instead of one gRPC call each: the calls
 * queued in one turn of the event loop leave in one message, and the leader's answers come back
 * the same way. Each call waits for its outcome under its id.
 */
export class ForwardMux {
  private call: grpc.ClientDuplexStream<unknown, unknown> | undefined;
  private readonly pending = new Map<number, (outcome: MuxOutcome) => void>();
  private outbox: ForwardedCall[] = [];
  private nextId = 0;
  private unimplementedUntilMs = 0;
  private closed = false;

  constructor(private readonly options: ForwardMuxOptions) {}

  /** available is false while the leader is taken to have no Forward (see FORWARD_UNIMPLEMENTED_RETRY_MS). */
  get available(): boolean {
    return !this.closed && Date.now() >= this.unimplementedUntilMs;
  }

  /**
   * send queues a call for the leader (sent at the end of this turn) and returns its id;
   * `onOutcome` hears how it ended, once, unless it is forgotten first.
   */
  send(
    method: string,
    request: Buffer,
    headers: Readonly<Record<string, string>>,
    onOutcome: (outcome: MuxOutcome) => void,
  ): number {
    // Ids wrap at 2^32; a call waits at most a few seconds, so a reused id is long answered.
    this.nextId = (this.nextId + 1) >>> 0;
    const id = this.nextId;
    this.pending.set(id, onOutcome);
    if (this.outbox.length === 0) queueMicrotask(() => this.flush());
    this.outbox.push({ id, method, request, headers });
    return id;
  }

  /** forget drops a call's outcome (its client gave up, or it was answered otherwise). */
  forget(id: number): void {
    this.pending.delete(id);
  }

  /** close ends the Forward call; calls still waiting end as broken (server shutdown). */
  close(): void {
    this.closed = true;
    this.call?.cancel();
  }

  private flush(): void {
    const calls = this.outbox.filter((c) => this.pending.has(c.id));
    this.outbox = [];
    if (calls.length === 0) return;
    this.open().write({ calls });
  }

  private open(): grpc.ClientDuplexStream<unknown, unknown> {
    if (this.call !== undefined) return this.call;
    const { client, method } = this.options;
    const call = client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      this.options.metadata(),
    );
    let answeredAny = false;
    call.on('data', (message: { answers?: ForwardedAnswer[] }) => {
      answeredAny = true;
      for (const answer of message.answers ?? []) {
        const onOutcome = this.pending.get(answer.id);
        if (onOutcome === undefined) continue;
        this.pending.delete(answer.id);
        onOutcome({ kind: 'answer', answer });
      }
    });
    // A failure also arrives as the status, which ends what still waits; 'error' only needs a listener.
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => {
      if (this.call === call) this.call = undefined;
      const unimplemented = status.code === grpc.status.UNIMPLEMENTED && !answeredAny;
      if (unimplemented) {
        this.unimplementedUntilMs = Date.now() + FORWARD_UNIMPLEMENTED_RETRY_MS;
        this.options.onUnimplemented?.(this.unimplementedUntilMs);
      }
      const ended: MuxOutcome = unimplemented
        ? { kind: 'unimplemented' }
        : {
            kind: 'broken',
            status:
              status.code === grpc.status.OK
                ? { ...status, code: grpc.status.UNAVAILABLE, details: 'the leader ended the Forward call' }
                : status,
          };
      // Only the calls sent on this Forward call: a call queued since goes on the next one.
      const queued = new Set(this.outbox.map((c) => c.id));
      const waiting = [...this.pending].filter(([id]) => !queued.has(id));
      for (const [id, onOutcome] of waiting) {
        this.pending.delete(id);
        onOutcome(ended);
      }
    });
    this.call = call;
    return call;
  }
}
