import * as grpc from '@grpc/grpc-js';
import type { NodeId, SnapshotRequest } from '../core/index';
import type { TransportHandler, TransportLogger, TransportSettings } from './transport-types';
import { hopLedger, recordWireHops } from './hop-ledger';
import type { WireMessage } from './wire';
import { snapshotMetaToWire, wireBytesEstimate } from './wire';

interface RaftPeerClient extends grpc.Client {
  Stream(
    callback: (error: grpc.ServiceError | null, summary?: unknown) => void,
  ): grpc.ClientWritableStream<unknown>;
  InstallSnapshot(
    callback: (error: grpc.ServiceError | null, ack?: unknown) => void,
  ): grpc.ClientWritableStream<unknown>;
}

/** PeerLinkStatus is what an operator sees of one outbound link. */
export interface PeerLinkStatus {
  readonly address: string;
  readonly connected: boolean;
  readonly queued: number;
  readonly snapshotInFlight: boolean;
  /**
   * clockOffsetMs estimates how far this node's wall clock is ahead of the peer's (negative:
   * behind), from the batches the peer sends (see ClockOffsets); null before any arrived.
   */
  readonly clockOffsetMs: number | null;
}

/**
 * PeerLink is this node's outbound side to one peer: a gRPC channel, one long-lived stream of
 * message batches, and a bounded queue. When the queue is full a message is dropped (Raft
 * retries); a broken stream is reopened after a capped exponential backoff. A channel that was
 * READY and drops out of it reports the peer lost: this is what makes crash failover fast.
 */
export class PeerLink {
  private readonly client: RaftPeerClient;
  private queue: WireMessage[] = [];
  private stream: grpc.ClientWritableStream<unknown> | undefined;
  private writable = true;
  private flushScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private retryAtMs = 0;
  private connected = false;
  private snapshotInFlight = false;
  private closed = false;

  constructor(
    private readonly self: NodeId,
    readonly peer: NodeId,
    readonly address: string,
    Client: grpc.ServiceClientConstructor,
    credentials: grpc.ChannelCredentials,
    private readonly settings: TransportSettings,
    private readonly handler: TransportHandler,
    private readonly logger: TransportLogger,
    private readonly onDropped: () => void,
  ) {
    this.backoffMs = settings.reconnectDelayMsMin;
    this.client = new Client(address, credentials, {
      'grpc.max_send_message_length': settings.batchBytesMax * 2,
      'grpc.max_receive_message_length': settings.batchBytesMax * 2,
      'grpc.initial_reconnect_backoff_ms': settings.reconnectDelayMsMin,
      'grpc.max_reconnect_backoff_ms': settings.reconnectDelayMsMax,
      'grpc.client_idle_timeout_ms': 2_147_483_647,
    }) as unknown as RaftPeerClient;
    this.watchConnectivity(this.client.getChannel().getConnectivityState(true));
  }

  /** enqueue queues a message; it returns false (and the message is dropped) when the queue is full. */
  enqueue(message: WireMessage): boolean {
    if (this.closed) return false;
    if (this.queue.length >= this.settings.sendQueueMessagesMax) return false;
    this.queue.push(message);
    this.scheduleFlush();
    return true;
  }

  /**
   * sendSnapshot streams a snapshot in chunks of snapshotChunkBytes. Only one transfer runs per
   * peer; a second request while one runs is refused (Raft asks again later).
   */
  sendSnapshot(m: SnapshotRequest, onDone: (ok: boolean) => void): boolean {
    if (this.closed || this.snapshotInFlight) return false;
    this.snapshotInFlight = true;
    const data = m.snapshot.data;
    const call = this.client.InstallSnapshot((error) => {
      this.snapshotInFlight = false;
      if (error !== null) {
        this.logger.warn(
          { peer: this.peer, index: m.snapshot.meta.index, code: error.code, detail: error.details },
          'snapshot transfer failed; Raft will retry it',
        );
      }
      onDone(error === null);
    });
    void this.writeSnapshotChunks(call, m, data);
    return true;
  }

  private async writeSnapshotChunks(
    call: grpc.ClientWritableStream<unknown>,
    m: SnapshotRequest,
    data: Uint8Array,
  ): Promise<void> {
    const chunk = this.settings.snapshotChunkBytes;
    let offset = 0;
    do {
      const piece = data.subarray(offset, Math.min(offset + chunk, data.byteLength));
      const first = offset === 0;
      const ok = call.write({
        from: m.from,
        to: m.to,
        term: m.term,
        clusterId: this.settings.clusterId,
        meta: first ? snapshotMetaToWire(m.snapshot.meta) : null,
        totalBytes: data.byteLength,
        offset,
        data: piece,
      });
      offset += piece.byteLength;
      if (!ok) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
      if (this.closed) {
        call.cancel();
        return;
      }
    } while (offset < data.byteLength);
    call.end();
  }

  /** status is this link's state for /status. */
  status(): Omit<PeerLinkStatus, 'clockOffsetMs'> {
    return {
      address: this.address,
      connected: this.connected,
      queued: this.queue.length,
      snapshotInFlight: this.snapshotInFlight,
    };
  }

  /** close ends the stream and the channel; queued messages are dropped. */
  close(): void {
    this.closed = true;
    this.queue = [];
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.stream?.end();
    this.stream = undefined;
    this.client.close();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.closed || this.queue.length === 0) return;
    if (this.stream === undefined) {
      const waitMs = this.retryAtMs - Date.now();
      if (waitMs > 0) {
        if (this.retryTimer === undefined) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.flush();
          }, waitMs);
        }
        return;
      }
      this.openStream();
    }
    const stream = this.stream!;
    while (this.queue.length > 0 && this.writable) {
      let bytes = 0;
      let n = 0;
      while (
        n < this.queue.length &&
        (n === 0 || bytes + wireBytesEstimate(this.queue[n]!) <= this.settings.batchBytesMax)
      ) {
        bytes += wireBytesEstimate(this.queue[n]!);
        n++;
      }
      const messages = this.queue.splice(0, n);
      this.writable = stream.write({
        from: this.self,
        clusterId: this.settings.clusterId,
        messages,
        sentAtMs: Date.now(),
      });
      if (hopLedger.enabled) recordWireHops('written', this.self, this.peer, messages);
    }
  }

  private openStream(): void {
    const stream = this.client.Stream((error) => this.onStreamEnd(stream, error));
    stream.on('drain', () => {
      if (this.stream !== stream) return;
      this.writable = true;
      this.scheduleFlush();
    });
    this.stream = stream;
    this.writable = true;
  }

  private onStreamEnd(stream: grpc.ClientWritableStream<unknown>, error: grpc.ServiceError | null): void {
    if (this.stream === stream) this.stream = undefined;
    if (this.closed || error === null) return;
    // A refusal of our cluster id (FAILED_PRECONDITION) needs the operator, not only a retry.
    const level = error.code === grpc.status.FAILED_PRECONDITION ? 'warn' : 'debug';
    this.logger[level](
      {
        peer: this.peer,
        address: this.address,
        code: error.code,
        detail: error.details,
        retryInMs: this.backoffMs,
      },
      'peer stream broke; reopening after backoff',
    );
    this.retryAtMs = Date.now() + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.settings.reconnectDelayMsMax);
    // Whatever was queued behind the broken stream is dropped: Raft will resend what matters.
    if (this.queue.length > 0) {
      this.queue = [];
      this.onDropped();
    }
    this.handler.onUndeliverable(this.peer);
  }

  private watchConnectivity(state: grpc.connectivityState): void {
    if (this.closed) return;
    this.client.getChannel().watchConnectivityState(state, Infinity, () => {
      if (this.closed) return;
      const next = this.client.getChannel().getConnectivityState(false);
      if (next === grpc.connectivityState.READY) {
        this.connected = true;
        this.backoffMs = this.settings.reconnectDelayMsMin;
        this.retryAtMs = 0;
      } else if (this.connected) {
        this.connected = false;
        this.logger.info({ peer: this.peer, address: this.address }, 'connection to peer lost');
        this.handler.onPeerLost(this.peer);
      }
      this.watchConnectivity(next);
    });
  }
}
