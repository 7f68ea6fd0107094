import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { AUTHORIZATION_HEADER, FORWARDED_CERT_HEADER } from '../auth/access-control';
import type { GrpcServiceError } from './errors';
import { FORWARDED_BY_METADATA_KEY } from './forwarder';
import type { MalformedRequest } from './malformed';
import { isMalformedRequest, malformedReason } from './malformed';

/**
 * FORWARDED_CALLS_IN_FLIGHT_MAX bounds the calls one Forward call may have unanswered on the
 * leader; past it a call is answered RESOURCE_EXHAUSTED at once (a follower forwards only what
 * its own clients send, so this is reached only by a caller that floods the method).
 */
export const FORWARDED_CALLS_IN_FLIGHT_MAX = 4096;

/** FORWARDED_HEADERS are the only request headers a forwarded call carries (the caller's credentials). */
export const FORWARDED_HEADERS: readonly string[] = [AUTHORIZATION_HEADER, FORWARDED_CERT_HEADER];

/** ForwardedCall is one call of a ForwardedCalls message, as proto-loader decodes it. */
export interface ForwardedCall {
  readonly id: number;
  readonly method: string;
  readonly request: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** ForwardedAnswer is one answer of a ForwardedAnswers message. */
export interface ForwardedAnswer {
  readonly id: number;
  readonly code: grpc.status;
  readonly response?: Buffer;
  readonly details?: string;
  readonly trailers?: Record<string, string>;
}

/**
 * LocalUnary is a unary method as this server serves it: the handler grpc-js would call (with
 * access control and the request origin around it), the request decoder and the response encoder
 * of its method definition.
 */
export interface LocalUnary {
  readonly handler: grpc.handleUnaryCall<unknown, unknown>;
  readonly decode: (bytes: Buffer) => unknown;
  readonly encode: (value: unknown) => Buffer;
}

/**
 * localUnaries lists the unary methods of `definition`, served by `impl` (the same wrapped
 * implementation and method definitions the server adds), by method name.
 */
export function localUnaries(
  definition: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
): Map<string, LocalUnary> {
  const out = new Map<string, LocalUnary>();
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream || method.responseStream) continue;
    const handler = impl[name];
    if (handler === undefined) continue;
    out.set(name, {
      handler: handler as grpc.handleUnaryCall<unknown, unknown>,
      decode: method.requestDeserialize,
      encode: method.responseSerialize,
    });
  }
  return out;
}

/** ForwardStreamOptions is what the leader's side of Forward needs. */
export interface ForwardStreamOptions {
  /** unaries are the methods a forwarded call may name (filled once the services are built). */
  readonly unaries: ReadonlyMap<string, LocalUnary>;
  readonly logger: Logger;
  /** onCallFinished hears each forwarded call's final status, as for a call made directly (metrics). */
  readonly onCallFinished?: (code: string) => void;
  /** inFlightMax bounds the calls one Forward call may have unanswered (default FORWARDED_CALLS_IN_FLIGHT_MAX). */
  readonly inFlightMax?: number;
  /**
   * method is the method served: Cluster.Forward (default), whose calls a member forwarded and
   * are marked so (never forwarded again), or Leadership.Calls, whose calls a client made and are
   * served as if made directly (a follower forwards what needs the leader).
   */
  readonly method?: 'Forward' | 'Calls';
}

/**
 * ForwardStreams serves Cluster.Forward or Leadership.Calls (`handler`): each call carried runs
 * through the very handler a direct call of its method runs through (access control against the
 * credentials it carries and this call's connection certificate, the request origin, the
 * service); on Forward it is marked as forwarded so it is never forwarded again. Answers made in
 * one turn of the event loop leave in one message. `drain` (server shutdown) ends each call once
 * it has nothing in flight, so the followers' and clients' calls do not hold the shutdown for its
 * whole grace.
 */
export class ForwardStreams {
  private readonly draining = new Set<() => void>();
  private drained = false;
  readonly handler: grpc.handleBidiStreamingCall<{ calls?: ForwardedCall[] }, { answers: ForwardedAnswer[] }>;

  constructor(private readonly options: ForwardStreamOptions) {
    this.handler = (stream) => this.serveStream(stream);
  }

  /** drain ends every Forward call as soon as it has no call in flight. */
  drain(): void {
    this.drained = true;
    for (const drain of [...this.draining]) drain();
  }

  private serveStream(
    stream: grpc.ServerDuplexStream<{ calls?: ForwardedCall[] }, { answers: ForwardedAnswer[] }>,
  ): void {
    const { options } = this;
    const inFlightMax = options.inFlightMax ?? FORWARDED_CALLS_IN_FLIGHT_MAX;
    let inFlight = 0;
    let closed = false;
    let ending = false;
    let outbox: ForwardedAnswer[] = [];
    const method = options.method ?? 'Forward';
    // Calls made by a client are not forwarded calls: nothing marks them so.
    const forwardedBy =
      method === 'Forward'
        ? String(stream.metadata.get(FORWARDED_BY_METADATA_KEY)[0] ?? 'a member')
        : undefined;
    const flush = (): void => {
      const answers = outbox;
      outbox = [];
      if (!closed && answers.length > 0) stream.write({ answers });
    };
    const answer = (a: ForwardedAnswer): void => {
      if (outbox.length === 0) queueMicrotask(flush);
      outbox.push(a);
    };
    const close = (): void => {
      closed = true;
      this.draining.delete(endWhenIdle);
    };
    // Ends the call (OK) once nothing is in flight, after the answers still queued.
    const endWhenIdle = (): void => {
      ending = true;
      if (inFlight > 0 || closed) return;
      flush();
      close();
      stream.end();
    };
    this.draining.add(endWhenIdle);
    stream.on('data', (message: { calls?: ForwardedCall[] } | MalformedRequest) => {
      if (closed) return;
      if (isMalformedRequest(message)) {
        close();
        stream.emit('error', {
          code: grpc.status.INVALID_ARGUMENT,
          details: `a ${method} message did not decode (${malformedReason(message)})`,
          metadata: new grpc.Metadata(),
        });
        return;
      }
      for (const call of message.calls ?? []) {
        if (inFlight >= inFlightMax) {
          options.onCallFinished?.('RESOURCE_EXHAUSTED');
          answer(
            statusAnswer(call.id, {
              code: grpc.status.RESOURCE_EXHAUSTED,
              details: `more than ${inFlightMax} calls are waiting on this node in one ${method} call; send fewer at a time`,
            }),
          );
          continue;
        }
        inFlight++;
        serve(call, forwardedBy, stream, options, (a) => {
          inFlight--;
          answer(a);
          if (ending) endWhenIdle();
        });
      }
    });
    // The member half-closed (it stops forwarding here): end once what it sent is answered.
    stream.on('end', endWhenIdle);
    stream.on('cancelled', close);
    stream.on('error', close);
    if (this.drained) endWhenIdle();
  }
}

/** serve runs one carried call through its method's handler and hands its answer to `done`. */
function serve(
  call: ForwardedCall,
  /** forwardedBy names the member that forwarded the call (Forward); undefined for a client's own call (Calls). */
  forwardedBy: string | undefined,
  stream: grpc.ServerDuplexStream<unknown, unknown>,
  options: ForwardStreamOptions,
  done: (answer: ForwardedAnswer) => void,
): void {
  const unary = options.unaries.get(call.method);
  if (unary === undefined) {
    const status = {
      code: grpc.status.UNIMPLEMENTED,
      details: `no unary method ${JSON.stringify(call.method)} can be ${forwardedBy === undefined ? 'made over Calls' : 'forwarded'} (see proto/leadership.proto)`,
    };
    options.onCallFinished?.(grpc.status[status.code]);
    done(statusAnswer(call.id, status));
    return;
  }
  const metadata = new grpc.Metadata();
  if (forwardedBy !== undefined) metadata.set(FORWARDED_BY_METADATA_KEY, forwardedBy);
  for (const key of FORWARDED_HEADERS) {
    const value = call.headers[key];
    if (value !== undefined) metadata.set(key, value);
  }
  let request: unknown;
  try {
    request = unary.decode(call.request);
  } catch (e) {
    // The server's decoders never throw (guardDeserializers); this only guards a bug.
    options.logger.error(
      { err: e, method: call.method },
      'a forwarded request did not decode; this is a bug',
    );
    options.onCallFinished?.('INTERNAL');
    done(
      statusAnswer(call.id, { code: grpc.status.INTERNAL, details: 'the forwarded request did not decode' }),
    );
    return;
  }
  // The handlers read the request, its metadata and the connection's certificate, nothing else:
  // a forwarded call is answered through the callback only.
  const unaryCall = {
    request,
    metadata,
    cancelled: false,
    getAuthContext: () => stream.getAuthContext(),
    getPeer: () => stream.getPeer(),
    getDeadline: () => Infinity,
    on: () => unaryCall,
    once: () => unaryCall,
    emit: () => false,
    sendMetadata: () => undefined,
  } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
  let answered = false;
  unary.handler(unaryCall, (error, value) => {
    if (answered) return;
    answered = true;
    if (error !== null && error !== undefined) {
      const status = error as Partial<GrpcServiceError>;
      const code = status.code ?? grpc.status.UNKNOWN;
      options.onCallFinished?.(grpc.status[code] ?? 'UNKNOWN');
      done(
        statusAnswer(call.id, {
          code,
          details: status.details ?? status.message ?? '',
          ...(status.metadata === undefined ? {} : { metadata: status.metadata }),
        }),
      );
      return;
    }
    let response: Buffer;
    try {
      response = unary.encode(value);
    } catch (e) {
      options.logger.error(
        { err: e, method: call.method },
        'a forwarded answer did not encode; this is a bug',
      );
      options.onCallFinished?.('INTERNAL');
      done(statusAnswer(call.id, { code: grpc.status.INTERNAL, details: 'the answer did not encode' }));
      return;
    }
    options.onCallFinished?.('OK');
    done({ id: call.id, code: grpc.status.OK, response });
  });
}

/** statusAnswer is the answer of a call that failed with `status`. */
function statusAnswer(
  id: number,
  status: { readonly code: grpc.status; readonly details: string; readonly metadata?: grpc.Metadata },
): ForwardedAnswer {
  const trailers: Record<string, string> = {};
  for (const [key, values] of Object.entries(status.metadata?.getMap() ?? {})) {
    if (typeof values === 'string') trailers[key] = values;
  }
  return { id, code: status.code, details: status.details, trailers };
}
