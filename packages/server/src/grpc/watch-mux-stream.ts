import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ERROR_TABLE, ServerError, toServerError } from '../errors/error-table';
import type { LeadershipService } from '../leadership/leadership-service';
import type { RevisionEvents, Watch, WatchSink } from '../leadership/watch-hub';
import type { StreamLimiter } from '../limits/stream-limiter';
import { recordCall } from './call-log';
import { toServiceError } from './errors';
import type { GrpcLimits } from './limits';
import { isMalformedRequest, malformedReason } from './malformed';
import type { Fields } from './request-fields';
import { requestFields, revisionField } from './request-fields';
import { connectionOf } from './stream-admission';
import type { RevisionEncoder, WatchEncoder } from './watch-stream';
import { prefixField, shutdownError } from './watch-stream';

/** WatchMuxOptions is what a WatchStream call needs. */
export interface WatchMuxOptions {
  readonly service: LeadershipService;
  readonly logger: Logger;
  readonly limits: GrpcLimits;
  /** encodeRevision is the shared once-per-batch encoding of a revision (WatchResponse fields 1 and 2). */
  readonly encodeRevision: RevisionEncoder;
  /** encode serializes a WatchStreamResponse object (control messages and the watch-id part). */
  readonly encode: WatchEncoder;
  /** streamLimiter counts each watch of the call as a watcher. */
  readonly streamLimiter: StreamLimiter;
}

/**
 * watchMuxHandler serves WatchStream: any number of watches on one call, each a hub watch of its
 * own, and one message per revision batch for all the watches of the call that got it (see
 * WatchMux). The call itself was admitted as a stream (stream-admission.ts).
 */
export function watchMuxHandler(options: WatchMuxOptions): grpc.handleBidiStreamingCall<unknown, object> {
  return (call) => new WatchMux(call, options, connectionOf(call)).start();
}

/** MuxWatch is one watch of a WatchStream call. */
interface MuxWatch {
  /** id is the client's watch_id, as the decimal string proto-loader decodes a uint64 to. */
  readonly id: string;
  /** open: the watch is live; once false nothing more is written for it. */
  open: boolean;
  /** registering: the hub is registering (and replaying to) it; its `created` is not out yet. */
  registering: boolean;
  /** closedWith is the error the hub ended it with while it was registering (written after `created`). */
  closedWith: ServerError | undefined;
  /** nextRevision is where it would resume: after the last revision handed to the stream. */
  nextRevision: number | undefined;
  hubWatch: Watch | undefined;
  /** release gives its place back to the stream limiter (idempotent). */
  readonly release: () => void;
}

/**
 * WatchMux is one WatchStream call. The hub delivers a revision to every matching watch in one
 * synchronous loop; the mux collects the (batch, watch) pairs and, at the end of that turn
 * (a microtask), writes ONE message per distinct batch object listing every watch id that got
 * it. The batch's bytes are the WatchResponse encoding shared with Watch calls (encoded once per
 * revision for the whole node), followed by the encoded watch_ids of this call.
 *
 * Order per watch: `created` is written before anything is flushed for it (registration is
 * synchronous and flushing is deferred); batches flush in the order they first arrived, and each
 * batch is one revision, so a watch gets its revisions in order, each once; before a `canceled`
 * goes out, everything pending is flushed, so a watch's last events precede its cancel.
 *
 * Backpressure: the call holds at most `watchStreamBufferBytesMax` bytes that HTTP/2 has not
 * taken (pending batches count from the moment they are collected). Past that, every watch the
 * hub tries to deliver to refuses, and the hub cuts it off with BACKPRESSURE and the revision to
 * resume from, which goes out as its `canceled`; the call and its other watches stay open.
 */
class WatchMux {
  private readonly watches = new Map<string, MuxWatch>();
  /** pending maps each batch collected this turn to the watches that got it, in arrival order. */
  private pending = new Map<RevisionEvents, MuxWatch[]>();
  private flushScheduled = false;
  private stopScheduled = false;
  /** queuedBytes are the bytes written that HTTP/2 has not taken yet, plus the pending batches' bytes. */
  private queuedBytes = 0;
  private open = true;

  constructor(
    private readonly call: grpc.ServerDuplexStream<unknown, object>,
    private readonly options: WatchMuxOptions,
    private readonly connection: string | undefined,
  ) {}

  start(): void {
    this.call.on('data', (request: unknown) => this.onRequest(request));
    this.call.on('end', () => {
      // A half-close: the client wants no more; its watches end and the call ends OK.
      if (!this.open) return;
      this.flush();
      this.dropAll();
      this.open = false;
      recordCall(this.options.logger, 'WatchStream', 'ok');
      this.call.end();
    });
    this.call.on('cancelled', () => {
      if (!this.open) {
        this.dropAll();
        return;
      }
      this.open = false;
      this.dropAll();
      recordCall(this.options.logger, 'WatchStream', 'cancelled');
    });
    // A failed read surfaces as 'error' on the call; 'cancelled' follows and cleans up.
    this.call.on('error', () => undefined);
  }

  private onRequest(request: unknown): void {
    if (!this.open) return;
    try {
      const o = requestFields(request, 'WatchStream');
      const create = o['create'];
      const cancel = o['cancel'];
      if (isMessage(create)) this.create(create);
      else if (isMessage(cancel)) this.cancel(cancel);
      else {
        throw new ServerError(
          'INVALID_ARGUMENT',
          'a WatchStream request needs `create` or `cancel`; the stream ends (its watches with it)',
          { field: 'request' },
        );
      }
    } catch (e) {
      // Only a request that cannot be attributed to a watch lands here.
      this.endStream(
        isMalformedRequest(request)
          ? new ServerError(
              'INVALID_ARGUMENT',
              `the WatchStream request is not a valid protobuf message (${malformedReason(request)}); the stream ends`,
            )
          : e,
      );
    }
  }

  /**
   * create registers one watch: a bad id, a limit, a bad prefix or a compacted from_revision
   * cancels only that watch (a `canceled` with the error), never the call.
   */
  private create(o: Fields): void {
    const id = watchIdOf(o);
    if (id === undefined || id === '0') {
      this.writeCanceled(
        id ?? '0',
        new ServerError(
          'INVALID_ARGUMENT',
          'watch_id must be a uint64 of 1 or more, unique among the open watches of the stream',
          {
            field: 'watch_id',
          },
        ),
      );
      return;
    }
    const existing = this.watches.get(id);
    if (existing !== undefined) {
      this.endWatch(
        existing,
        new ServerError(
          'INVALID_ARGUMENT',
          `watch_id ${id} is already in use on this stream: the watch that had it is canceled too; use a fresh id`,
          { field: 'watch_id' },
        ),
      );
      return;
    }
    let release: () => void;
    try {
      release = this.options.streamLimiter.admit({
        stream: false,
        watcher: true,
        connection: this.connection,
      });
    } catch (e) {
      this.writeCanceled(id, e);
      return;
    }
    const w: MuxWatch = {
      id,
      open: true,
      registering: true,
      closedWith: undefined,
      nextRevision: undefined,
      hubWatch: undefined,
      release,
    };
    this.watches.set(id, w);
    try {
      const prefix = prefixField(o);
      const fromRevision = revisionField(o, 'fromRevision');
      if (fromRevision > 0) w.nextRevision = fromRevision;
      w.hubWatch = this.options.service.watch(
        prefix,
        fromRevision === 0 ? undefined : fromRevision,
        this.sinkOf(w),
      );
    } catch (e) {
      w.registering = false;
      this.endWatch(w, e);
      return;
    }
    w.registering = false;
    this.writeControl({ created: { watchId: id } });
    if (w.closedWith !== undefined) this.endWatch(w, w.closedWith);
  }

  /** cancel ends a watch at the client's request (answered `canceled`, status OK); an unknown id is NOT_FOUND. */
  private cancel(o: Fields): void {
    const id = watchIdOf(o) ?? '0';
    const w = this.watches.get(id);
    if (w === undefined) {
      this.writeCanceled(
        id,
        new ServerError(
          'NOT_FOUND',
          `no open watch ${id} on this stream (it may have been canceled already)`,
        ),
      );
      return;
    }
    this.drop(w);
    this.writeControl({ canceled: { watchId: id, code: '', status: 0, message: 'canceled by the client' } });
  }

  private sinkOf(w: MuxWatch): WatchSink {
    return {
      deliver: (batch: RevisionEvents): boolean => {
        if (!this.open || !w.open) return true;
        if (this.queuedBytes > this.options.limits.watchStreamBufferBytesMax) return false;
        let watches = this.pending.get(batch);
        if (watches === undefined) {
          watches = [];
          this.pending.set(batch, watches);
          this.queuedBytes += this.options.encodeRevision(batch).length;
        }
        watches.push(w);
        w.nextRevision = batch.revision + 1;
        this.scheduleFlush();
        return true;
      },
      close: (error: ServerError | undefined): void => {
        const reason = error ?? shutdownError(w.nextRevision);
        if (error === undefined) this.scheduleStop();
        if (w.registering) {
          w.closedWith = reason;
          return;
        }
        this.endWatch(w, reason);
      },
    };
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** flush writes one message per pending batch, listing the watches still open that got it. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.size === 0) return;
    const pending = this.pending;
    this.pending = new Map();
    for (const [batch, watches] of pending) {
      const body = this.options.encodeRevision(batch);
      // The body's bytes were counted when the batch was collected; they are written (or dropped) now.
      this.queuedBytes -= body.length;
      const ids = watches.filter((w) => w.open).map((w) => w.id);
      if (ids.length === 0 || !this.open) continue;
      this.write(Buffer.concat([body, this.options.encode({ watchIds: ids })]));
    }
  }

  /** endWatch ends one watch with `e` as its `canceled`, after everything pending went out. */
  private endWatch(w: MuxWatch, e: unknown): void {
    if (!w.open) return;
    this.flush();
    this.drop(w);
    this.writeCanceled(w.id, e);
  }

  /** drop unregisters a watch and gives its place back; nothing more is written for it. */
  private drop(w: MuxWatch): void {
    if (!w.open) return;
    w.open = false;
    if (this.watches.get(w.id) === w) this.watches.delete(w.id);
    w.hubWatch?.cancel();
    w.release();
  }

  private dropAll(): void {
    for (const w of [...this.watches.values()]) this.drop(w);
  }

  /**
   * scheduleStop ends the call with STOPPED once the hub closed every watch (server shutdown):
   * each watch already got its own `canceled` with its resume revision.
   */
  private scheduleStop(): void {
    if (this.stopScheduled) return;
    this.stopScheduled = true;
    queueMicrotask(() =>
      this.endStream(
        new ServerError(
          'STOPPED',
          'the server is shutting down; resume each watch on another node from its canceled resume_revision',
        ),
      ),
    );
  }

  /** endStream ends the call with `e`'s status, after what is pending; every watch ends with it. */
  private endStream(e: unknown): void {
    if (!this.open) return;
    this.flush();
    this.dropAll();
    this.open = false;
    const error = toServiceError(e);
    recordCall(this.options.logger, 'WatchStream', error, e);
    this.call.emit('error', error);
  }

  private writeCanceled(id: string, e: unknown): void {
    const error = toServerError(e);
    const resume = error.details['resumeRevision'];
    const oldest = error.details['oldestRevision'];
    this.writeControl({
      canceled: {
        watchId: id,
        code: error.code,
        status: ERROR_TABLE[error.code].grpcStatus,
        message: error.message,
        resumeRevision: typeof resume === 'number' ? resume : 0,
        oldestRevision: typeof oldest === 'number' ? oldest : 0,
      },
    });
  }

  private writeControl(response: object): void {
    if (!this.open) return;
    this.write(this.options.encode(response));
  }

  /** write sends already-encoded bytes, counting them until HTTP/2 takes them. */
  private write(bytes: Buffer): void {
    this.queuedBytes += bytes.length;
    this.call.write(bytes, () => {
      this.queuedBytes -= bytes.length;
    });
  }
}

function isMessage(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** watchIdOf reads watch_id as the decimal string of a uint64 (undefined when it is not one). */
function watchIdOf(o: Fields): string | undefined {
  const v = o['watchId'];
  return typeof v === 'string' && /^(0|[1-9]\d{0,19})$/.test(v) ? v : undefined;
}
