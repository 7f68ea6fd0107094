import * as grpc from '@grpc/grpc-js';

/** ProxyHooks are what a stream proxy asks of the forwarder. */
export interface ProxyHooks {
  /** headers turns the upstream's response headers into the client's. */
  headers(upstream: grpc.Metadata): grpc.Metadata;
  /** status turns the upstream's final status into the client's (its trailers are kept). */
  status(upstream: grpc.StatusObject): grpc.StatusObject;
  /** ended hears, once, how the proxied call ended. */
  ended(code: grpc.status): void;
}

/** BidiProxyHooks add how a client's request message is turned into the bytes sent upstream. */
export interface BidiProxyHooks extends ProxyHooks {
  encode(request: unknown): Buffer;
}

/** StreamProxy is a running proxy; `abandon` cancels the upstream call and ends the client's with `status`. */
export interface StreamProxy {
  abandon(status: grpc.StatusObject): void;
}

type ClientCall = grpc.ServerWritableStream<unknown, object> | grpc.ServerDuplexStream<unknown, object>;
type Upstream = grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>;

/**
 * Relay copies an upstream call's answers (already-encoded bytes) to the client's call, with flow
 * control (a client that does not read pauses the upstream), and ends the client's call with the
 * upstream's status once every answer was passed on. A client that cancels cancels the upstream
 * call, so the leader sees exactly what the client did (Campaign withdraws the candidate,
 * KeepAlive counts as reset).
 */
class Relay implements StreamProxy {
  private done = false;
  private status: grpc.StatusObject | undefined;
  private upstreamEnded = false;
  private waitingForClientDrain = false;

  constructor(
    private readonly call: ClientCall,
    private readonly upstream: Upstream,
    private readonly hooks: ProxyHooks,
  ) {
    upstream.on('metadata', (headers: grpc.Metadata) => {
      if (!this.done) call.sendMetadata(hooks.headers(headers));
    });
    upstream.on('data', (bytes: Buffer) => this.down(bytes));
    // The status event carries every failure; this only keeps an 'error' from being thrown.
    upstream.on('error', () => undefined);
    upstream.on('end', () => {
      this.upstreamEnded = true;
      this.settle();
    });
    upstream.on('status', (status: grpc.StatusObject) => {
      this.status = status;
      this.settle();
    });
    // grpc-js also emits 'cancelled' after the status is sent; by then the relay is done.
    call.on('cancelled', () => this.clientReset());
  }

  /** clientReset cancels the upstream call when the client reset its own (cancelled, connection lost). */
  private clientReset(): void {
    if (this.done) return;
    this.done = true;
    this.upstream.cancel();
    this.hooks.ended(grpc.status.CANCELLED);
  }

  /** finished: the client's call has its outcome (relayed, abandoned or reset); nothing more is passed on. */
  get finished(): boolean {
    return this.done;
  }

  abandon(status: grpc.StatusObject): void {
    if (this.done) return;
    this.done = true;
    this.upstream.cancel();
    this.hooks.ended(status.code);
    this.call.emit('error', status);
  }

  private down(bytes: Buffer): void {
    if (this.done) return;
    if (!this.call.write(bytes) && !this.waitingForClientDrain) {
      this.waitingForClientDrain = true;
      this.upstream.pause();
      this.call.once('drain', () => {
        this.waitingForClientDrain = false;
        this.upstream.resume();
      });
    }
  }

  /** settle ends the client's call once the upstream status is known (and, for OK, every answer was read). */
  private settle(): void {
    const status = this.status;
    if (this.done || status === undefined) return;
    if (status.code === grpc.status.OK && !this.upstreamEnded) return;
    this.done = true;
    this.hooks.ended(status.code);
    const relayed = this.hooks.status(status);
    if (relayed.code === grpc.status.OK) this.call.end(relayed.metadata);
    else this.call.emit('error', relayed);
  }
}

/** proxyServerStream relays a server-streaming upstream call (Campaign) to the client's call. */
export function proxyServerStream(
  call: grpc.ServerWritableStream<unknown, object>,
  upstream: grpc.ClientReadableStream<Buffer>,
  hooks: ProxyHooks,
): StreamProxy {
  return new Relay(call, upstream, hooks);
}

/**
 * proxyBidiStream relays a bidirectional call (KeepAlive) both ways: each client request goes
 * upstream as it came (an upstream that does not take more pauses reading the client), the
 * client's half-close half-closes the upstream, and the answers come back as in Relay.
 */
export function proxyBidiStream(
  call: grpc.ServerDuplexStream<unknown, object>,
  upstream: grpc.ClientDuplexStream<Buffer, Buffer>,
  hooks: BidiProxyHooks,
): StreamProxy {
  const relay = new Relay(call, upstream, hooks);
  let waitingForUpstreamDrain = false;
  call.on('data', (request: unknown) => {
    if (relay.finished) return;
    if (!upstream.write(hooks.encode(request)) && !waitingForUpstreamDrain) {
      waitingForUpstreamDrain = true;
      call.pause();
      upstream.once('drain', () => {
        waitingForUpstreamDrain = false;
        call.resume();
      });
    }
  });
  // The proxy mirrors the client as it goes: its end of requests half-closes the upstream call,
  // and its reset (which may follow the end: see CLIENT_END_SETTLE_MS) cancels it, so the leader
  // tells the two apart as it would for a direct client (release on reset).
  call.on('end', () => {
    if (!relay.finished) upstream.end();
  });
  return relay;
}
