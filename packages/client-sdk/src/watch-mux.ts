import type * as grpc from '@grpc/grpc-js';
import type { ErrorDetails, ServerErrorCode } from './errors';
import { GRPC_STATUS, OmniRelayError, SERVER_ERROR_CODES, fromGrpcError } from './errors';
import type { Router } from './router';
import type { WireEvent } from './wire';

/** WatchResponse is the events of one revision as a watch receives them (Watch and WatchStream alike). */
export interface WatchResponse {
  readonly revision: string;
  readonly events: WireEvent[];
}

/** WatchItem is what a watch's stream hands its iterator: a response, or how the watch ended. */
export type WatchItem = { readonly response: WatchResponse } | { readonly end: unknown };

/** WatchItemSink takes one watch's items; push returns how many items the watch has queued. */
export interface WatchItemSink {
  push(item: WatchItem): number;
}

/** MuxedWatch is one watch's handle on its shared call. */
export interface MuxedWatch {
  /** cancel ends the watch (idempotent); the call closes when it was the last one. */
  cancel(): void;
  /** drained tells the mux the watch's queue went below the low water mark. */
  drained(): void;
}

/** QUEUE_HIGH_WATER: past this many undelivered responses of one watch, its call is paused until it catches up. */
export const QUEUE_HIGH_WATER = 256;

/** WireStreamResponse is a decoded WatchStreamResponse (proto-loader object form). */
interface WireStreamResponse {
  readonly revision: string;
  readonly events: WireEvent[];
  readonly watchIds: string[];
  readonly created: { readonly watchId: string } | null;
  readonly canceled: WireCanceled | null;
}

interface WireCanceled {
  readonly watchId: string;
  readonly code: string;
  readonly status: number;
  readonly message: string;
  readonly resumeRevision: string;
  readonly oldestRevision: string;
}

interface Entry {
  readonly id: string;
  readonly sink: WatchItemSink;
}

type WatchStreamCall = grpc.ClientDuplexStream<object, WireStreamResponse>;

/**
 * WatchMux carries every watch of one client on one node over one WatchStream call, as etcd's
 * client does: the call opens with the first watch, each watch gets an id of the call, responses
 * go to the watches their `watch_ids` list (all of them share the one decoded response, so its
 * events are converted once: leadershipEventOnce), and the call closes when its last watch ends.
 * When the call fails, every watch on it gets that error (each then resumes by itself, as after a
 * failed Watch call), and the next watch opens a new call. When any watch's queue passes
 * QUEUE_HIGH_WATER, the call is paused until every such queue drained to half of it.
 */
export class WatchMux {
  private call: WatchStreamCall | undefined;
  private readonly watches = new Map<string, Entry>();
  /** full holds the watches whose queue passed the high water mark: the call is paused while any is. */
  private readonly full = new Set<Entry>();
  /** nextId numbers the watches of this mux; ids are never reused, so a late response cannot reach a newer watch. */
  private nextId = 1;

  constructor(
    private readonly router: Router,
    readonly address: string,
  ) {}

  /** size is the number of open watches. */
  get size(): number {
    return this.watches.size;
  }

  /**
   * add creates a watch of scopes under `prefix` from `fromRevision`, opening the call if none is
   * open. It throws what opening throws (a closed client, a token function that fails).
   */
  add(prefix: string, fromRevision: bigint, sink: WatchItemSink): MuxedWatch {
    const call = this.call ?? this.open();
    const entry: Entry = { id: String(this.nextId++), sink };
    this.watches.set(entry.id, entry);
    call.write({ create: { watchId: entry.id, prefix, fromRevision: fromRevision.toString() } });
    return {
      cancel: () => this.cancel(entry),
      drained: () => this.drained(entry),
    };
  }

  /** close cancels the call; every watch on it gets CANCELLED (the client is closing). */
  close(): void {
    this.call?.cancel();
  }

  private open(): WatchStreamCall {
    const stub = this.router.stub(this.address, 'Leadership') as unknown as {
      WatchStream(metadata: grpc.Metadata): WatchStreamCall;
    };
    const call = stub.WatchStream(this.router.metadata());
    this.call = call;
    call.on('data', (response: WireStreamResponse) => this.onResponse(call, response));
    call.on('error', (e: unknown) => this.failed(call, fromGrpcError(e, this.address)));
    call.on('end', () =>
      this.failed(call, new OmniRelayError('UNAVAILABLE', `${this.address} ended the watch stream`)),
    );
    return call;
  }

  private onResponse(call: WatchStreamCall, response: WireStreamResponse): void {
    if (call !== this.call) return;
    const canceled = response.canceled;
    if (canceled !== null) {
      const entry = this.watches.get(String(canceled.watchId));
      if (entry === undefined) return; // the answer to a cancel of ours, or a watch already gone
      this.remove(entry);
      entry.sink.push({ end: canceledError(canceled) });
      this.closeIfIdle();
      return;
    }
    if (response.created !== null) return;
    const item: WatchItem = { response };
    for (const id of response.watchIds) {
      const entry = this.watches.get(String(id));
      if (entry === undefined) continue;
      if (entry.sink.push(item) >= QUEUE_HIGH_WATER && !this.full.has(entry)) {
        this.full.add(entry);
        call.pause();
      }
    }
  }

  /** failed ends every watch of `call` with `error`; the next watch opens a new call. */
  private failed(call: WatchStreamCall, error: OmniRelayError): void {
    if (call !== this.call) return;
    this.call = undefined;
    const entries = [...this.watches.values()];
    this.watches.clear();
    this.full.clear();
    for (const entry of entries) entry.sink.push({ end: error });
  }

  private cancel(entry: Entry): void {
    if (this.watches.get(entry.id) !== entry) return;
    this.remove(entry);
    if (!this.closeIfIdle()) this.call?.write({ cancel: { watchId: entry.id } });
  }

  private remove(entry: Entry): void {
    this.watches.delete(entry.id);
    this.drained(entry);
  }

  private drained(entry: Entry): void {
    if (!this.full.delete(entry)) return;
    if (this.full.size === 0) this.call?.resume();
  }

  /** closeIfIdle closes the call once it carries no watch; it returns whether it did. */
  private closeIfIdle(): boolean {
    if (this.watches.size > 0 || this.call === undefined) return false;
    const call = this.call;
    this.call = undefined;
    call.cancel();
    return true;
  }
}

/**
 * WatchMuxes holds one WatchMux per node address of a client, and remembers the nodes that
 * answered UNIMPLEMENTED for WatchStream (a server older than it): watches there use one Watch
 * call each, as before.
 */
export class WatchMuxes {
  private readonly muxes = new Map<string, WatchMux>();
  private readonly unsupported = new Set<string>();

  constructor(private readonly router: Router) {}

  /** supports tells whether WatchStream may be tried at `address`. */
  supports(address: string): boolean {
    return !this.unsupported.has(address);
  }

  /** markUnsupported records that `address` lacks WatchStream. */
  markUnsupported(address: string): void {
    this.unsupported.add(address);
  }

  /** of returns (creating once) the mux of `address`. */
  of(address: string): WatchMux {
    let mux = this.muxes.get(address);
    if (mux === undefined) {
      mux = new WatchMux(this.router, address);
      this.muxes.set(address, mux);
    }
    return mux;
  }

  /** close cancels every shared call (client close). */
  close(): void {
    for (const mux of this.muxes.values()) mux.close();
    this.muxes.clear();
  }
}

/** isUnimplemented tells a failure whose status was UNIMPLEMENTED (the method is unknown to the server). */
export function isUnimplemented(e: unknown): boolean {
  return e instanceof OmniRelayError && e.details.grpcStatus === GRPC_STATUS.UNIMPLEMENTED;
}

/**
 * canceledError is the error a watch canceled by the server ends with: the code, gRPC status and
 * revisions a Watch call's status would carry, so the watch resumes (or gives up) the same way.
 */
function canceledError(c: WireCanceled): OmniRelayError {
  const resume = BigInt(c.resumeRevision);
  const oldest = BigInt(c.oldestRevision);
  const details: ErrorDetails = {
    grpcStatus: c.status,
    ...(resume > 0n ? { resumeRevision: resume } : {}),
    ...(oldest > 0n ? { oldestRevision: oldest } : {}),
  };
  const code = (SERVER_ERROR_CODES as readonly string[]).includes(c.code)
    ? (c.code as ServerErrorCode)
    : 'UNAVAILABLE';
  return new OmniRelayError(code, c.message, details);
}
