import * as grpc from '@grpc/grpc-js';

/**
 * CALLS_UNIMPLEMENTED_RETRY_MS is how long a client makes each unary call on its own to a node
 * that answered Calls UNIMPLEMENTED (an older build, during a rolling upgrade) before it tries
 * Calls there again.
 */
export const CALLS_UNIMPLEMENTED_RETRY_MS = 60_000;
/**
 * CALLS_REFUSED_RETRY_MS is the same for a node that refused the Calls call itself with
 * RESOURCE_EXHAUSTED (its stream limits were reached): unary calls do not count toward them.
 */
export const CALLS_REFUSED_RETRY_MS = 5_000;
/**
 * CALLS_IN_FLIGHT_MAX is how many calls may wait on one Calls call: a node answers those past
 * its own bound (4,096) RESOURCE_EXHAUSTED, so more go on their own.
 */
export const CALLS_IN_FLIGHT_MAX = 4096;
/**
 * CALLS_MESSAGE_BYTES_MAX bounds the request bytes of one Calls message (a node refuses a message
 * over 4 MiB, which would end the whole call); a larger request goes on its own.
 */
export const CALLS_MESSAGE_BYTES_MAX = 1024 * 1024;

/** CarriedAnswer is one answer of a ForwardedAnswers message, as proto-loader decodes it. */
interface CarriedAnswer {
  readonly id: number;
  readonly code: number;
  readonly response?: Buffer;
  readonly details?: string;
  readonly trailers?: Readonly<Record<string, string>>;
}

/**
 * CarriedOutcome is how a call sent over Calls ended: the node's answer (its status, response
 * bytes when OK, and trailers as metadata); the Calls call ended before it (its status: the
 * call may or may not have run, as when a unary call's connection drops); or the node refused
 * the Calls call itself before serving anything on it (it has no such method, or its stream
 * limits were reached), so the call did not run and must go on its own.
 */
export type CarriedOutcome =
  | { readonly kind: 'answer'; readonly status: grpc.StatusObject; readonly response: Buffer | undefined }
  | { readonly kind: 'ended'; readonly status: grpc.StatusObject }
  | { readonly kind: 'refused' };

/**
 * CallMux carries the unary calls of one client to one node over one Leadership.Calls call
 * (opened at the first call, and again after one ended) instead of one HTTP/2 stream each: a
 * call's cost on both ends is a message on an open stream rather than a stream's headers,
 * trailers and grpc-js call stack. Calls queued in one turn of the event loop leave in one
 * message; each waits for its outcome under its id. Deadlines and cancellation are the caller's
 * (`forget` stops waiting; the node may still run the call, as with a unary call cancelled after
 * it was sent).
 */
export class CallMux {
  private call: grpc.ClientDuplexStream<unknown, unknown> | undefined;
  private readonly pending = new Map<number, (outcome: CarriedOutcome) => void>();
  private outbox: Array<{ id: number; method: string; request: Buffer; headers: Record<string, string> }> =
    [];
  private nextId = 0;
  private refusedUntilMs = 0;

  /** `client` is the node's channel; `method` is Leadership.Calls's definition (its path and codecs). */
  constructor(
    private readonly client: grpc.Client,
    private readonly method: grpc.MethodDefinition<unknown, unknown>,
  ) {}

  /** available is false for a while after the node refused a Calls call (CALLS_*_RETRY_MS). */
  get available(): boolean {
    return Date.now() >= this.refusedUntilMs;
  }

  /** takes tells whether a request of `bytes` may go now while `available` (else it goes on its own). */
  takes(bytes: number): boolean {
    return bytes <= CALLS_MESSAGE_BYTES_MAX && this.pending.size < CALLS_IN_FLIGHT_MAX;
  }

  /**
   * send queues a call (sent at the end of this turn) and returns its id; `onOutcome` hears how
   * it ended, once, unless it is forgotten first.
   */
  send(
    method: string,
    request: Buffer,
    headers: Record<string, string>,
    onOutcome: (outcome: CarriedOutcome) => void,
  ): number {
    // Ids wrap at 2^32; a call waits at most its deadline, so a reused id is long answered.
    this.nextId = (this.nextId + 1) >>> 0;
    const id = this.nextId;
    this.pending.set(id, onOutcome);
    if (this.outbox.length === 0) queueMicrotask(() => this.flush());
    this.outbox.push({ id, method, request, headers });
    return id;
  }

  /** forget stops waiting for a call (its deadline passed, or its caller aborted). */
  forget(id: number): void {
    this.pending.delete(id);
  }

  /** close cancels the Calls call; calls still waiting end with its status (CANCELLED). */
  close(): void {
    this.call?.cancel();
  }

  private flush(): void {
    const calls = this.outbox.filter((c) => this.pending.has(c.id));
    this.outbox = [];
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < calls.length; i++) {
      const size = calls[i]!.request.length;
      if (i > from && bytes + size > CALLS_MESSAGE_BYTES_MAX) {
        this.open().write({ calls: calls.slice(from, i) });
        from = i;
        bytes = 0;
      }
      bytes += size;
    }
    if (from < calls.length) this.open().write({ calls: calls.slice(from) });
  }

  private open(): grpc.ClientDuplexStream<unknown, unknown> {
    if (this.call !== undefined) return this.call;
    const call = this.client.makeBidiStreamRequest(
      this.method.path,
      this.method.requestSerialize,
      this.method.responseDeserialize,
    );
    let answered = false;
    call.on('data', (message: { answers?: CarriedAnswer[] }) => {
      answered = true;
      for (const a of message.answers ?? []) {
        const onOutcome = this.pending.get(a.id);
        if (onOutcome === undefined) continue;
        this.pending.delete(a.id);
        onOutcome({
          kind: 'answer',
          // A success has no trailers to read: one shared status, no Metadata per call.
          status:
            a.code === (grpc.status.OK as number)
              ? ANSWERED_OK
              : { code: a.code, details: a.details ?? '', metadata: trailersOf(a.trailers) },
          response: a.response,
        });
      }
    });
    // A failure also arrives as the status, which ends what still waits; 'error' only needs a listener.
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => {
      if (this.call === call) this.call = undefined;
      // Refused before it served anything: its handler never ran, nor did any call it carried.
      const refusedForMs = answered ? undefined : REFUSED_FOR_MS.get(status.code);
      if (refusedForMs !== undefined) this.refusedUntilMs = Date.now() + refusedForMs;
      const outcome: CarriedOutcome =
        refusedForMs !== undefined
          ? { kind: 'refused' }
          : {
              kind: 'ended',
              status:
                status.code === grpc.status.OK
                  ? { ...status, code: grpc.status.UNAVAILABLE, details: 'the node ended the Calls call' }
                  : status,
            };
      // Only the calls sent on this Calls call: one queued since goes on the next.
      const queued = new Set(this.outbox.map((c) => c.id));
      for (const [id, onOutcome] of [...this.pending]) {
        if (queued.has(id)) continue;
        this.pending.delete(id);
        onOutcome(outcome);
      }
    });
    this.call = call;
    return call;
  }
}

/** ANSWERED_OK is the status of every successful answer (its metadata is never read). */
const ANSWERED_OK: grpc.StatusObject = Object.freeze({
  code: grpc.status.OK,
  details: '',
  metadata: new grpc.Metadata(),
});

/** REFUSED_FOR_MS maps the statuses that refuse a whole Calls call to how long to make calls on their own. */
const REFUSED_FOR_MS: ReadonlyMap<number, number> = new Map([
  [grpc.status.UNIMPLEMENTED, CALLS_UNIMPLEMENTED_RETRY_MS],
  [grpc.status.RESOURCE_EXHAUSTED, CALLS_REFUSED_RETRY_MS],
]);

/** trailersOf turns an answer's trailers into Metadata (where fromGrpcError reads error details). */
function trailersOf(trailers: Readonly<Record<string, string>> | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers ?? {})) metadata.set(key, value);
  return metadata;
}
