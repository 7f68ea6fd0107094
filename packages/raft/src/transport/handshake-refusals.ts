import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { TransportLogger } from './transport-types';

/** TlsPort names a TLS port in logs and metrics: the peer port, or the client gRPC or HTTP port. */
export type TlsPort = 'peer' | 'grpc' | 'http';

/** HANDSHAKE_REFUSAL_LOG_WINDOW_MS is how long one address and reason are logged only once. */
export const HANDSHAKE_REFUSAL_LOG_WINDOW_MS = 60_000;

/**
 * UNVERIFIED is the reason of a connection that closed before its TLS handshake completed without
 * an error of its own: Node refused its certificate, or the client gave up.
 */
const UNVERIFIED =
  'closed before the TLS handshake completed: a client certificate that failed verification (another CA, expired, not yet valid) or a client that gave up';

/** HANDSHAKE_REFUSAL_KEYS_MAX bounds the addresses remembered within a window (a scan of many addresses). */
const HANDSHAKE_REFUSAL_KEYS_MAX = 1024;

/**
 * HandshakeRefusals records TLS handshakes a port refused (no client certificate, one from
 * another CA, an expired one, a protocol below TLS 1.2, plaintext on a TLS port): every refusal
 * counts (`onRefused`), and each remote address and reason is logged at warn once per
 * HANDSHAKE_REFUSAL_LOG_WINDOW_MS, so a scanner cannot flood the log but an operator sees who
 * was turned away and why.
 */
export class HandshakeRefusals {
  private logged = new Set<string>();
  private windowStartMs = Date.now();

  constructor(
    private readonly logger: TransportLogger,
    private readonly onRefused: (port: TlsPort) => void,
  ) {}

  /**
   * watch hears the refused handshakes of a TLS server: those OpenSSL fails (`tlsClientError`:
   * no client certificate, an old protocol, plaintext) and those Node ends without an event when a
   * client certificate fails verification (another CA, expired, not yet valid): a connection that
   * closes before its handshake completed.
   */
  watch(server: EventEmitter, port: TlsPort): void {
    const done = new WeakSet<object>();
    server.prependListener('connection', (raw: Socket) => {
      const address = raw.remoteAddress ?? 'unknown';
      raw.once('close', () => {
        if (!done.has(raw)) this.refused(port, address, UNVERIFIED);
      });
    });
    server.prependListener('secureConnection', (socket: RefusedSocket) => done.add(socket._parent ?? socket));
    server.on('tlsClientError', (error: Error & { code?: string }, socket: RefusedSocket) => {
      done.add(socket._parent ?? socket);
      this.refused(port, addressOf(socket), reasonOf(error));
    });
  }

  /**
   * watchGrpc hears the refused handshakes of a bound grpc-js server. grpc-js keeps its listeners
   * to itself and reports refused handshakes only to its trace log; its `http2Servers` map is the
   * one way to reach them. Without it (another grpc-js), refusals still fail the caller's
   * handshake; only the log line and the count are missing, which is logged once.
   */
  watchGrpc(server: object, port: TlsPort): void {
    const listeners = (server as { http2Servers?: unknown }).http2Servers;
    if (!(listeners instanceof Map)) {
      this.logger.warn(
        { port },
        `cannot hear refused TLS handshakes on the ${port} port (grpc-js internals changed)`,
      );
      return;
    }
    for (const listener of listeners.keys()) this.watch(listener as EventEmitter, port);
  }

  /** refused records one refused handshake from `address` on `port`. */
  refused(port: TlsPort, address: string, reason: string): void {
    this.onRefused(port);
    const now = Date.now();
    if (
      now - this.windowStartMs >= HANDSHAKE_REFUSAL_LOG_WINDOW_MS ||
      this.logged.size >= HANDSHAKE_REFUSAL_KEYS_MAX
    ) {
      this.logged = new Set();
      this.windowStartMs = now;
    }
    const key = `${port} ${address} ${reason}`;
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.logger.warn(
      { port, remoteAddress: address, reason },
      `refused a TLS handshake on the ${port} port from ${address}: ${reason} ` +
        `(further refusals from this address for this reason are counted, not logged, for ${HANDSHAKE_REFUSAL_LOG_WINDOW_MS / 1000} s)`,
    );
  }
}

/**
 * RefusedSocket is the TLS socket of a refused handshake; once torn down it may have lost its
 * remote address, which the raw socket under it (`_parent`) or its cached peer name still hold.
 */
interface RefusedSocket {
  readonly remoteAddress?: string;
  readonly _parent?: Socket | null;
  readonly _peername?: { readonly address?: string } | null;
}

function addressOf(socket: RefusedSocket): string {
  return socket.remoteAddress ?? socket._parent?.remoteAddress ?? socket._peername?.address ?? 'unknown';
}

/** reasonOf turns an OpenSSL handshake error into a short reason (its code, else its last clause). */
export function reasonOf(error: Error & { code?: string }): string {
  const alert = /alert ([a-z ]+)/i.exec(error.message)?.[1];
  if (alert !== undefined) return `alert ${alert.trim()}`;
  if (typeof error.code === 'string' && error.code !== '') return error.code;
  return error.message.split(':').pop()?.trim() ?? 'handshake failed';
}
