import * as grpc from '@grpc/grpc-js';
import { SCOPE_NAME_BYTES_MAX } from '@omnirelay/leadership-fsm';
import type { Logger } from 'pino';
import { ServerError } from '../errors/error-table';
import type { LeadershipService } from '../leadership/leadership-service';
import type { RevisionEvents, Watch, WatchSink } from '../leadership/watch-hub';
import { recordCall } from './call-log';
import { revisionEventsToWire } from './convert';
import { toServiceError } from './errors';
import type { GrpcLimits } from './limits';
import type { Fields } from './request-fields';
import { requestFields, revisionField, stringField } from './request-fields';

/** WatchEncoder serializes a response message (WatchResponse, WatchStreamResponse) to its protobuf bytes. */
export type WatchEncoder = (response: object) => Buffer;

/** RevisionEncoder returns the WatchResponse bytes of a hub batch, the same Buffer every time. */
export type RevisionEncoder = (batch: RevisionEvents) => Buffer;

/**
 * revisionEncoder encodes each hub batch once for every stream of the node: the hub hands every
 * watcher whose prefix matches all of a revision's events the same batch object, so 1,000
 * watchers of one event, on Watch and WatchStream calls alike, cost one encode. WatchStream
 * responses reuse the bytes (their fields 1 and 2 are WatchResponse's).
 */
export function revisionEncoder(encode: WatchEncoder): RevisionEncoder {
  const encoded = new WeakMap<RevisionEvents, Buffer>();
  return (batch: RevisionEvents): Buffer => {
    let bytes = encoded.get(batch);
    if (bytes === undefined) {
      bytes = encode(revisionEventsToWire(batch));
      encoded.set(batch, bytes);
    }
    return bytes;
  };
}

/**
 * acceptEncodedResponses returns Watch's method definition changed to pass already-serialized
 * responses through, and the original encoder. The Watch stream serializes each response once,
 * itself, so it knows exactly how many bytes it has queued: grpc-js streams are in object mode,
 * where `writableLength` counts messages, not bytes.
 */
export function acceptEncodedResponses(method: grpc.MethodDefinition<unknown, unknown>): {
  readonly method: grpc.MethodDefinition<unknown, unknown>;
  readonly encode: WatchEncoder;
} {
  const encode = method.responseSerialize;
  return {
    method: {
      ...method,
      responseSerialize: (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : encode(value)),
    },
    encode,
  };
}

/**
 * watchHandler serves Watch: one response per revision with that revision's events under the
 * prefix, replaying retained revisions first when from_revision is set (0: from now on). A
 * compacted from_revision fails with OUT_OF_RANGE naming the oldest available. The stream may
 * hold at most `watchStreamBufferBytesMax` bytes that HTTP/2 has not taken yet; a watcher past
 * that is cut off by the hub with RESOURCE_EXHAUSTED and the revision to resume from (message and
 * `omnirelay-resume-revision`), which is exactly the first revision it did not get.
 */
export function watchHandler(
  service: LeadershipService,
  logger: Logger,
  limits: GrpcLimits,
  encodeOnce: RevisionEncoder,
): grpc.handleServerStreamingCall<unknown, object> {
  return (call) => {
    let open = true;
    let queuedBytes = 0;
    /** nextRevision is where this watcher would resume: after the last revision it was sent. */
    let nextRevision: number | undefined;
    let watch: Watch | undefined;
    const fail = (e: unknown): void => {
      if (!open) return;
      open = false;
      watch?.cancel();
      const error = toServiceError(e);
      recordCall(logger, 'Watch', error, e);
      call.emit('error', error);
    };
    const sink: WatchSink = {
      deliver: (batch: RevisionEvents): boolean => {
        if (!open) return true;
        if (queuedBytes > limits.watchStreamBufferBytesMax) return false;
        const bytes = encodeOnce(batch);
        queuedBytes += bytes.length;
        call.write(bytes, () => {
          queuedBytes -= bytes.length;
        });
        nextRevision = batch.revision + 1;
        return true;
      },
      close: (error: ServerError | undefined): void => fail(error ?? shutdownError(nextRevision)),
    };
    call.on('cancelled', () => {
      if (!open) return;
      open = false;
      watch?.cancel();
      recordCall(logger, 'Watch', 'cancelled');
    });
    try {
      const o = requestFields(call.request, 'Watch');
      const prefix = prefixField(o);
      const fromRevision = revisionField(o, 'fromRevision');
      if (fromRevision > 0) nextRevision = fromRevision;
      watch = service.watch(prefix, fromRevision === 0 ? undefined : fromRevision, sink);
      // Headers go out once the watch is registered, so a client can tell when it is live.
      if (open) call.sendMetadata(new grpc.Metadata());
    } catch (e) {
      fail(e);
    }
  };
}

const PREFIX_PATTERN = /^[a-z0-9._/-]*$/;

/**
 * prefixField reads the scope prefix: what a scope name may start with (SCOPE_NAME_RULES'
 * characters, at most SCOPE_NAME_BYTES_MAX), as ListLeaders takes it. A prefix no scope can
 * have would watch nothing forever; it is refused instead.
 */
export function prefixField(o: Fields): string {
  const prefix = stringField(o, 'prefix');
  if (prefix.length > SCOPE_NAME_BYTES_MAX || !PREFIX_PATTERN.test(prefix)) {
    throw new ServerError(
      'INVALID_ARGUMENT',
      `prefix must be at most ${SCOPE_NAME_BYTES_MAX} characters from [a-z0-9._/-] (the start of a scope name)`,
      { field: 'prefix' },
    );
  }
  return prefix;
}

/** shutdownError ends a watch at server shutdown, with where to resume it when that is known. */
export function shutdownError(nextRevision: number | undefined): ServerError {
  const resume =
    nextRevision === undefined
      ? 'watch again from now, or list the current leaders first'
      : `resume from revision ${nextRevision}`;
  return new ServerError('STOPPED', `the server is shutting down; ${resume} on another node`, {
    ...(nextRevision === undefined ? {} : { resumeRevision: nextRevision }),
  });
}
