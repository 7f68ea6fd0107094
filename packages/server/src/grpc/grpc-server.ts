import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import type { Logger } from 'pino';
import { AccessControl, credentialsOf } from '../auth/access-control';
import { grpcRequirement } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import type { ServerError } from '../errors/error-table';
import type { LeadershipService } from '../leadership/leadership-service';
import { withRequest } from '../leadership/request-origin';
import { STREAM_LIMITS_DEFAULT, StreamLimiter } from '../limits/stream-limiter';
import type { ClientTlsFiles, ForwardingTlsFiles } from '../tls/client-tls';
import { TLS_TRANSPORT_GRPC, grpcForwardingCredentials, grpcServerCredentials } from '../tls/client-tls';
import type { HandshakeRefusals } from '@omnirelay/raft';
import { GRPC_TRANSPORT, callLogger, recordCall } from './call-log';
import { toServiceError } from './errors';
import { clusterServiceImpl } from './cluster-service-impl';
import type { ReplicationView } from '../cross-cluster/clusters-answer';
import { IDLE_REPLICATION } from '../cross-cluster/clusters-answer';
import { passEncodedResponses } from './encoded-responses';
import { GrpcForwarder } from './forwarder';
import type { LocalUnary } from './forward-stream';
import { ForwardStreams, localUnaries } from './forward-stream';
import { leadershipServiceImpl } from './leadership-service-impl';
import type { GrpcKeepalive, GrpcLimits } from './limits';
import {
  GRPC_KEEPALIVE_TIMEOUT_MS,
  GRPC_KEEPALIVE_TIME_MS,
  GRPC_SHUTDOWN_GRACE_MS,
  resolveGrpcLimits,
} from './limits';
import { keepAliveCodec } from './keep-alive-codec';
import { guardDeserializers } from './malformed';
import { loadPublicApi } from './proto';
import { admitStreams } from './stream-admission';
import { acceptEncodedResponses } from './watch-stream';

/** GrpcServerOptions configures startGrpcServer. */
export interface GrpcServerOptions {
  /** address is `host:port` to listen on (port 0 picks a free one). */
  readonly address: string;
  readonly service: LeadershipService;
  readonly node: RaftNode<ApplyResult>;
  /** replication reads this node's replicator for Cluster.Clusters (absent: idle). */
  readonly replication?: () => ReplicationView;
  readonly logger: Logger;
  /** limits overrides the bounds of limits.ts (each must be a positive integer). */
  readonly limits?: Partial<GrpcLimits>;
  /** transferTimeoutMs bounds how long Cluster.TransferLeadership waits for the new leader (default 3 s). */
  readonly transferTimeoutMs?: number;
  /**
   * leaderGrpcAddress is another member's public gRPC address (--peer-grpc): a follower forwards
   * what needs the leader there. Absent, or undefined for the leader, calls are answered NOT_LEADER.
   */
  readonly leaderGrpcAddress?: (nodeId: string) => string | undefined;
  /** onForwarded hears each call forwarded to the leader (metrics). */
  readonly onForwarded?: () => void;
  /**
   * onCallFinished hears the final status of every call by name (`OK`, `UNAVAILABLE`, ...), unary
   * or streaming, including those grpc-js refuses itself (a message too large) (metrics).
   */
  readonly onCallFinished?: (code: string) => void;
  /**
   * streamLimiter counts Campaign, KeepAlive and Watch calls against the node's stream and
   * watcher bounds (shared with the HTTP edge's SSE watchers); default: one of its own with
   * STREAM_LIMITS_DEFAULT.
   */
  readonly streamLimiter?: StreamLimiter;
  /** keepalive pings quiet client connections and drops those that do not answer (default 10 s + 5 s). */
  readonly keepalive?: GrpcKeepalive;
  /** tls serves the port over TLS (ALPN h2) with these files; absent, plaintext h2c. */
  readonly tls?: ClientTlsFiles;
  /** forwardingTls makes a follower reach the leader's gRPC port over TLS (set with `tls`). */
  readonly forwardingTls?: ForwardingTlsFiles;
  /** access authenticates and authorizes every call (default: off, nothing refused). */
  readonly access?: AccessControl;
  /** handshakes hears the TLS handshakes this port refuses (logs and metrics). */
  readonly handshakes?: HandshakeRefusals;
}

/** ClientGrpcServer is the running public gRPC listener. */
export interface ClientGrpcServer {
  /** address is the bound `host:port` (the real port when 0 was asked). */
  readonly address: string;
  /** close stops taking calls, lets running ones finish for GRPC_SHUTDOWN_GRACE_MS, then cancels the rest. */
  close(): Promise<void>;
}

/**
 * startGrpcServer serves the public API of proto/leadership.proto (services Leadership and
 * Cluster) on `address`: over TLS 1.2+ (h2) with `tls`, else over plaintext HTTP/2 (h2c). Requests larger than
 * GRPC_RECEIVE_MESSAGE_BYTES_MAX are refused by grpc-js with RESOURCE_EXHAUSTED; requests that do
 * not decode are answered INVALID_ARGUMENT. On a follower, what needs the leader is forwarded to
 * it once (see GrpcForwarder), when `leaderGrpcAddress` knows where it is. Streaming calls are
 * bounded per connection and in total (StreamLimiter), and a client connection that stops
 * answering pings is dropped (`keepalive`), ending its calls.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<ClientGrpcServer> {
  const limits = resolveGrpcLimits(options.limits);
  const api = loadPublicApi();
  const transport = options.tls === undefined ? GRPC_TRANSPORT : TLS_TRANSPORT_GRPC;
  const logger = callLogger(options.logger, transport);
  const forwardingTls = options.forwardingTls;
  const watch = acceptEncodedResponses(api.leadership.definition['Watch']!);
  const watchStream = acceptEncodedResponses(api.leadership.definition['WatchStream']!);
  const notLeader = (): ServerError => options.service.notLeader();
  const forwarder = new GrpcForwarder({
    node: options.node,
    leaderGrpcAddress: options.leaderGrpcAddress ?? (() => undefined),
    notLeader,
    logger,
    ...(forwardingTls === undefined
      ? {}
      : {
          credentials: (leaderId: string) =>
            grpcForwardingCredentials(forwardingTls, leaderId, (reason) =>
              logger.warn({ leader: leaderId, reason }, `client TLS files skipped for forwarding: ${reason}`),
            ),
        }),
    ...(options.onForwarded === undefined ? {} : { onForwarded: options.onForwarded }),
  });
  const streamLimiter = options.streamLimiter ?? new StreamLimiter(STREAM_LIMITS_DEFAULT);
  const access = options.access ?? new AccessControl({ enabled: false, clusterId: '', logger });
  const onCallFinished = options.onCallFinished;
  const server = new grpc.Server({
    ...(onCallFinished === undefined ? {} : { interceptors: [statusInterceptor(onCallFinished)] }),
    'grpc.max_receive_message_length': limits.receiveMessageBytesMax,
    'grpc.keepalive_time_ms': options.keepalive?.timeMs ?? GRPC_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': options.keepalive?.timeoutMs ?? GRPC_KEEPALIVE_TIMEOUT_MS,
  });
  // Every response encoder passes already-encoded bytes through: a follower relays the leader's answers as they came.
  const leadershipDefinition = passEncodedResponses(
    guardDeserializers({
      ...api.leadership.definition,
      KeepAlive: keepAliveCodec(api.leadership.definition['KeepAlive']!),
      Watch: watch.method,
      WatchStream: watchStream.method,
    }),
  );
  // The calls a member forwards over Forward, and those a client makes over Calls, run through
  // the same handlers as direct calls.
  const unaries = new Map<string, LocalUnary>();
  const carried = { unaries, logger, ...(onCallFinished === undefined ? {} : { onCallFinished }) };
  const forwardStreams = new ForwardStreams(carried);
  const clientCalls = new ForwardStreams({ ...carried, method: 'Calls' });
  const leadershipImpl = servingRequest(
    transport,
    access,
    logger,
    admitStreams(
      {
        ...leadershipServiceImpl({
          service: options.service,
          logger,
          limits,
          encodeWatchResponse: watch.encode,
          encodeWatchStreamResponse: watchStream.encode,
          streamLimiter,
          forwarder,
          access,
        }),
        Calls: clientCalls.handler as grpc.UntypedHandleCall,
      },
      streamLimiter,
      logger,
    ),
  );
  const clusterDefinition = passEncodedResponses(guardDeserializers(api.cluster.definition));
  const clusterImpl = servingRequest(transport, access, logger, {
    ...clusterServiceImpl({
      node: options.node,
      logger,
      transferTimeoutMs: options.transferTimeoutMs ?? 3000,
      notLeader,
      forwarding: forwarder,
      clusters: { service: options.service, replication: options.replication ?? (() => IDLE_REPLICATION) },
    }),
    Forward: forwardStreams.handler as grpc.UntypedHandleCall,
  });
  for (const [name, unary] of [
    ...localUnaries(leadershipDefinition, leadershipImpl),
    ...localUnaries(clusterDefinition, clusterImpl),
  ]) {
    unaries.set(name, unary);
  }
  server.addService(leadershipDefinition, leadershipImpl);
  server.addService(clusterDefinition, clusterImpl);
  const host = options.address.slice(0, options.address.lastIndexOf(':'));
  const credentials =
    options.tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpcServerCredentials(options.tls, (reason) =>
          logger.warn({ reason }, `client TLS files skipped, the last usable ones stay in use: ${reason}`),
        );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, credentials, (error, boundPort) => {
      if (error !== null) {
        forwarder.close();
        reject(
          new Error(
            `cannot listen for gRPC clients on ${options.address}: ${error.message}; is the port free?`,
          ),
        );
      } else {
        resolve(boundPort);
      }
    });
  });
  const address = `${host}:${port}`;
  if (options.tls !== undefined) options.handshakes?.watchGrpc(server, 'grpc');
  options.logger.info(
    { address, transport, clientCertificates: options.tls?.caFile === undefined ? 'none' : 'required' },
    'public gRPC API listening',
  );
  let closing: Promise<void> | undefined;
  return {
    address,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, GRPC_SHUTDOWN_GRACE_MS);
        timer.unref();
        forwardStreams.drain();
        clientCalls.drain();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }).then(() => forwarder.close())),
  };
}

/**
 * servingRequest runs every handler of a service as work for a request over `transport`
 * (withRequest), once access control has named the caller and allowed the call (GRPC_REQUIREMENTS):
 * writes it replicates record the transport and the caller, audit events say how they arrived,
 * and their spans join the caller's trace. A refused call is answered UNAUTHENTICATED or
 * PERMISSION_DENIED before its handler runs, so it proposes nothing and forwards nothing.
 */
function servingRequest(
  transport: string,
  access: AccessControl,
  logger: Logger,
  impl: grpc.UntypedServiceImplementation,
): grpc.UntypedServiceImplementation {
  const wrapped: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const fn = handler as (...args: unknown[]) => unknown;
    wrapped[name] = ((...args: unknown[]) => {
      const call = args[0] as {
        metadata?: grpc.Metadata;
        request?: unknown;
        getAuthContext?: () => { sslPeerCertificate?: PeerCertificate };
        emit(event: 'error', error: grpc.StatusObject): void;
      };
      const metadata = call.metadata;
      const header = (key: string): string | undefined => {
        const value = metadata?.get(key)[0];
        return value === undefined ? undefined : String(value);
      };
      const credentials = credentialsOf(header, call.getAuthContext?.().sslPeerCertificate);
      let principal: Principal | undefined;
      try {
        principal = access.check(credentials, name, grpcRequirement(name, call.request), transport);
      } catch (e) {
        const error = toServiceError(e);
        recordCall(logger, name, error, e);
        const callback = args[1];
        if (typeof callback === 'function') (callback as grpc.sendUnaryData<object>)(error);
        else call.emit('error', error);
        return undefined;
      }
      // A unary call (it has a callback) goes where its NOT_LEADER names (unaryHandler), a hand-off
      // included; a stream is routed once, up front, and a NOT_LEADER inside it reaches the client.
      const takesHandOff = typeof args[1] === 'function';
      return withRequest(transport, header, () => fn(...args), { credentials, principal, takesHandOff });
    }) as grpc.UntypedHandleCall;
  }
  return wrapped;
}

/**
 * statusInterceptor tells `onCallFinished` the status each call ends with, as grpc-js sends it:
 * after the handler, the forwarder or grpc-js itself answered, so every call counts exactly once.
 */
function statusInterceptor(onCallFinished: (code: string) => void): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        onCallFinished(grpc.status[status.code] ?? 'UNKNOWN');
        next(status);
      },
    });
}
