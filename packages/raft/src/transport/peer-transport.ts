import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Message, NodeId, SnapshotRequest } from '../core/index';
import { isWellFormedMessage } from '../core/index';
import { ClockOffsets } from './clock-offsets';
import { HandshakeRefusals } from './handshake-refusals';
import { hopLedger, recordWireHops } from './hop-ledger';
import type { PeerTls } from './peer-tls';
import { certificateIdentity, nodeUri, peerTls } from './peer-tls';
import { PeerLink } from './peer-link';
import type { SnapshotReceipt } from './snapshot-receipts';
import { SnapshotReceipts } from './snapshot-receipts';
import type { PeerLinkStatus } from './peer-link';
import { loadRaftPeerService } from './proto';
import type { TransportHandler, TransportLogger, TransportSettings, TransportStats } from './transport-types';
import { validateTransportSettings } from './transport-types';
import type { WireMessage, WireSnapshotMeta } from './wire';
import { messageFromWire, messageToWire, snapshotMetaFromWire } from './wire';

/** PeerTransportOptions configures PeerTransport.start. */
export interface PeerTransportOptions {
  readonly id: NodeId;
  /** listenAddress is `host:port` for the peer port (port 0 picks a free one). */
  readonly listenAddress: string;
  /** peers maps every other member's id to its peer address; messages from others are refused. */
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly settings: TransportSettings;
  readonly handler: TransportHandler;
  readonly logger: TransportLogger;
}

/**
 * PEER_KEEPALIVE_TIME_MS and PEER_KEEPALIVE_TIMEOUT_MS: the peer server pings a quiet peer
 * connection after the first and drops it when the ping is unanswered for the second, so a peer
 * that vanished without a reset (a dropped route, a powered-off host) does not hold an inbound
 * stream, or a snapshot transfer's buffer and place, until TCP gives up many minutes later.
 */
export const PEER_KEEPALIVE_TIME_MS = 10_000;
export const PEER_KEEPALIVE_TIMEOUT_MS = 5_000;

interface WireBatch {
  from: string;
  clusterId: string;
  messages: WireMessage[];
  sentAtMs: number;
}

interface WireSnapshotChunk {
  from: string;
  to: string;
  term: number;
  clusterId: string;
  meta: WireSnapshotMeta | null;
  totalBytes: number;
  offset: number;
  data: Uint8Array;
}

/**
 * PeerTransport carries Raft messages between peers over gRPC (HTTP/2, h2c on the peer port).
 * Outbound: one PeerLink per peer. Inbound: a server on its own port that accepts streams only
 * from members of the configuration with the same cluster id, validates every message, and hands
 * well-formed ones to the handler. Snapshots travel on their own streaming call in bounded chunks
 * and reach Raft only when complete; what inbound transfers buffer is bounded (SnapshotReceipts).
 */
export class PeerTransport {
  private readonly links = new Map<NodeId, PeerLink>();
  /** clocks estimates each peer's clock offset from the batches it sends. */
  private readonly clocks = new ClockOffsets();
  private readonly counters: TransportStats = {
    messagesReceived: 0,
    messagesSent: 0,
    messagesDropped: 0,
    messagesMalformed: 0,
    refusedUnknownPeer: 0,
    refusedClusterMismatch: 0,
    refusedUnauthenticated: 0,
    handshakesRefused: 0,
    snapshotsSent: 0,
    snapshotsReceived: 0,
    snapshotsFailed: 0,
    snapshotsRefusedLimit: 0,
  };
  private readonly receipts: SnapshotReceipts;
  private peers: Map<NodeId, string>;
  private stopped = false;
  /** refusalsLogged holds `peer reason` pairs already logged, so each refusal is logged once per peer. */
  private readonly refusalsLogged = new Set<string>();

  private constructor(
    private readonly options: PeerTransportOptions,
    private readonly server: grpc.Server,
    /** address is the `host:port` the peer server listens on (the real port when 0 was asked). */
    readonly address: string,
    /** tls is the peer port's mutual TLS, undefined in plaintext. */
    private readonly tls: PeerTls | undefined,
  ) {
    this.peers = new Map(options.peers);
    this.receipts = new SnapshotReceipts(options.settings);
  }

  /** start binds the peer port and returns a running transport. */
  static async start(options: PeerTransportOptions): Promise<PeerTransport> {
    validateTransportSettings(options.settings);
    const service = loadRaftPeerService();
    const server = new grpc.Server({
      'grpc.max_receive_message_length': options.settings.batchBytesMax * 2,
      'grpc.max_send_message_length': options.settings.batchBytesMax * 2,
      'grpc.keepalive_time_ms': PEER_KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': PEER_KEEPALIVE_TIMEOUT_MS,
    });
    const host = options.listenAddress.slice(0, options.listenAddress.lastIndexOf(':'));
    const tls =
      options.settings.peerTls === undefined
        ? undefined
        : peerTls(options.settings.peerTls, options.settings.clusterId, (reason) =>
            options.logger.warn({ files: options.settings.peerTls }, `peer TLS files skipped: ${reason}`),
          );
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        options.listenAddress,
        tls?.server ?? grpc.ServerCredentials.createInsecure(),
        (error, boundPort) => {
          if (error !== null) {
            reject(
              new Error(
                `cannot listen for peers on ${options.listenAddress}: ${error.message}; is the port free?`,
              ),
            );
          } else {
            resolve(boundPort);
          }
        },
      );
    });
    const transport = new PeerTransport(options, server, `${host}:${port}`, tls);
    if (tls !== undefined) {
      // A process without a member certificate never reaches a call, so the refusal is heard at the handshake.
      new HandshakeRefusals(options.logger, () => transport.counters.handshakesRefused++).watchGrpc(
        server,
        'peer',
      );
    }
    server.addService(service.definition, {
      Stream: (call: grpc.ServerReadableStream<WireBatch, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        transport.handleStream(call, callback),
      InstallSnapshot: (
        call: grpc.ServerReadableStream<WireSnapshotChunk, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => transport.handleSnapshot(call, callback),
      Probe: (
        call: grpc.ServerUnaryCall<{ from: string; clusterId: string }, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => transport.handleProbe(call, callback),
    });
    return transport;
  }

  /** send queues messages for their peers; messages for unknown peers or beyond a full queue are dropped. */
  send(messages: readonly Message[]): void {
    for (const m of messages) {
      const link = this.link(m.to);
      if (link === undefined) {
        this.counters.messagesDropped++;
        continue;
      }
      if (m.type === 'snapshot') {
        this.sendSnapshot(link, m);
        continue;
      }
      if (link.enqueue(messageToWire(m))) {
        this.counters.messagesSent++;
      } else {
        this.counters.messagesDropped++;
        this.options.handler.onUndeliverable(m.to);
      }
    }
  }

  /** setPeers replaces the address book (after a membership change); links to removed peers close. */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    this.peers = new Map(peers);
    for (const [id, link] of this.links) {
      if (this.peers.get(id) !== link.address) {
        link.close();
        this.links.delete(id);
      }
    }
  }

  /**
   * connectAll opens the link (and its connection) to every peer that has none yet. The node
   * calls it once a leader is known, so a quorum is up: a follower then has a live connection to
   * the other followers before an election or a transfer needs one (a cold link costs the first
   * vote or append a TCP and HTTP/2 handshake on the failover path).
   */
  connectAll(): void {
    for (const peer of this.peers.keys()) this.link(peer);
  }

  /** stats returns the counters since start. */
  stats(): Readonly<TransportStats> {
    return { ...this.counters };
  }

  /** snapshotsReceiving is what inbound snapshot transfers hold now: open transfers and reserved bytes. */
  snapshotsReceiving(): { readonly streams: number; readonly bytes: number } {
    return { streams: this.receipts.streams, bytes: this.receipts.bytes };
  }

  /** peerStatus describes each outbound link. */
  peerStatus(): Record<NodeId, PeerLinkStatus> {
    const out: Record<NodeId, PeerLinkStatus> = {};
    for (const [id, address] of this.peers) {
      out[id] = {
        ...(this.links.get(id)?.status() ?? {
          address,
          connected: false,
          queued: 0,
          snapshotInFlight: false,
        }),
        clockOffsetMs: this.clocks.offsetMs(id),
      };
    }
    return out;
  }

  /** stop closes every link and the server (in-flight calls are cancelled). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    await new Promise<void>((resolve) => {
      this.server.tryShutdown(() => resolve());
      setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 500).unref();
    });
  }

  private link(peer: NodeId): PeerLink | undefined {
    if (this.stopped) return undefined;
    let link = this.links.get(peer);
    if (link === undefined) {
      const address = this.peers.get(peer);
      if (address === undefined) return undefined;
      link = new PeerLink(
        this.options.id,
        peer,
        address,
        loadRaftPeerService().Client,
        this.tls?.channel(peer) ?? grpc.credentials.createInsecure(),
        this.options.settings,
        this.options.handler,
        this.options.logger,
        () => this.counters.messagesDropped++,
      );
      this.links.set(peer, link);
    }
    return link;
  }

  private sendSnapshot(link: PeerLink, m: SnapshotRequest): void {
    const started = link.sendSnapshot(m, (ok) => {
      if (ok) {
        this.counters.snapshotsSent++;
      } else {
        this.counters.snapshotsFailed++;
        this.options.handler.onUndeliverable(m.to);
      }
    });
    if (!started) this.options.handler.onUndeliverable(m.to);
  }

  /**
   * refusal checks a peer's identity; it returns a gRPC error to answer with, or undefined when
   * accepted. `authenticatedAs` is the member whose certificate this call's connection was already
   * checked for (see handleStream): a claim of that member needs no second look at the certificate.
   */
  private refusal(
    from: string,
    clusterId: string,
    call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } },
    authenticatedAs?: string,
  ): grpc.ServiceError | undefined {
    const unauthenticated = from === authenticatedAs ? undefined : this.unauthenticated(from, call);
    if (unauthenticated !== undefined) return unauthenticated;
    if (clusterId !== this.options.settings.clusterId) {
      this.counters.refusedClusterMismatch++;
      this.options.logger.warn(
        { peer: from, clusterId, expected: this.options.settings.clusterId },
        'refused a peer of another cluster; check --cluster-id on both nodes',
      );
      return serviceError(
        grpc.status.FAILED_PRECONDITION,
        `cluster id ${clusterId} is not ${this.options.settings.clusterId}: the sender is not a member of this ` +
          `cluster; if it was re-created (restore or force-new-cluster), empty the sender's --data-dir, start it ` +
          `with --cluster-id ${this.options.settings.clusterId} --join true, and add it with ` +
          `'omnirelay cluster add-learner', then 'promote'`,
      );
    }
    if (!this.peers.has(from)) {
      this.counters.refusedUnknownPeer++;
      this.options.logger.warn(
        { peer: from, known: [...this.peers.keys()] },
        "refused a peer outside this node's configuration; check the peer list on both nodes",
      );
      return serviceError(grpc.status.PERMISSION_DENIED, `${from} is not a peer of ${this.options.id}`);
    }
    return undefined;
  }

  /**
   * unauthenticated refuses a call whose TLS certificate does not name the member it claims to
   * come from: none, a client's, another cluster's or another member's (with TLS on; plaintext
   * trusts the claim). Each refusal is counted, and logged once per claimed peer and reason.
   */
  private unauthenticated(
    from: string,
    call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } },
  ): grpc.ServiceError | undefined {
    if (this.tls === undefined) return undefined;
    const identity = certificateIdentity(
      call.getAuthContext().sslPeerCertificate,
      this.options.settings.clusterId,
    );
    if ('node' in identity && identity.node === from) return undefined;
    const reason = 'node' in identity ? `a certificate of node ${identity.node}` : identity.refused;
    this.counters.refusedUnauthenticated++;
    const key = `${from} ${reason}`;
    if (!this.refusalsLogged.has(key)) {
      this.refusalsLogged.add(key);
      this.options.logger.warn(
        { peer: from, reason },
        `refused a peer call claiming to come from ${from}: it presented ${reason}; a member must present ` +
          `a certificate from the cluster's CA naming ${nodeUri(this.options.settings.clusterId, from)}`,
      );
    }
    return serviceError(
      grpc.status.UNAUTHENTICATED,
      `${from} must present a certificate naming ${nodeUri(this.options.settings.clusterId, from)}; got ${reason}`,
    );
  }

  private handleStream(
    call: grpc.ServerReadableStream<WireBatch, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ): void {
    let peer: string | undefined;
    /**
     * authenticated is the member this stream's certificate was found to name. A stream's TLS
     * connection, and so its certificate, never changes: reading and parsing the certificate for
     * every batch (getPeerCertificate builds a fresh object each time) cost the peer port more CPU
     * than anything else TLS added, so it is read once per stream. Every batch is still checked
     * against it, and against the cluster id and the configuration.
     */
    let authenticated: string | undefined;
    let received = 0;
    let done = false;
    const finish = (error: grpc.ServiceError | null): void => {
      if (done) return;
      done = true;
      if (error === null) callback(null, { messagesReceived: received });
      else callback(error);
    };
    call.on('data', (batch: WireBatch) => {
      if (done) return;
      const refused = this.refusal(batch.from, batch.clusterId, call, authenticated);
      if (refused !== undefined) {
        finish(refused);
        return;
      }
      peer = batch.from;
      authenticated = batch.from;
      this.clocks.record(batch.from, batch.sentAtMs, Date.now());
      if (hopLedger.enabled) recordWireHops('received', this.options.id, batch.from, batch.messages);
      for (const wire of batch.messages) {
        const m = messageFromWire(wire);
        if (!isWellFormedMessage(m) || m.from !== batch.from || m.to !== this.options.id) {
          this.counters.messagesMalformed++;
          this.options.logger.warn(
            { peer: batch.from, type: wire.type },
            'dropped a malformed message from a peer',
          );
          continue;
        }
        received++;
        this.counters.messagesReceived++;
        this.options.handler.onMessage(m);
      }
    });
    call.on('end', () => finish(null));
    call.on('error', () => {
      done = true;
      if (peer !== undefined && !this.stopped) this.options.handler.onPeerLost(peer);
    });
    call.on('cancelled', () => {
      done = true;
      if (peer !== undefined && !this.stopped) this.options.handler.onPeerLost(peer);
    });
  }

  private handleProbe(
    call: grpc.ServerUnaryCall<{ from: string; clusterId: string }, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ): void {
    const refused = this.refusal(call.request.from, call.request.clusterId, call);
    if (refused !== undefined) {
      callback(refused);
      return;
    }
    const answer = this.options.handler.onProbe?.(call.request.from) ?? {
      term: 0,
      lastIndex: 0,
      boundIncarnation: '',
    };
    callback(null, { id: this.options.id, ...answer });
  }

  private handleSnapshot(
    call: grpc.ServerReadableStream<WireSnapshotChunk, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ): void {
    const chunks: Uint8Array[] = [];
    let first: WireSnapshotChunk | undefined;
    let received = 0;
    let failed = false;
    let receipt: SnapshotReceipt | undefined;
    /** release drops what the transfer buffered and frees its place; the transfer is over. */
    const release = (): void => {
      chunks.length = 0;
      receipt?.end();
    };
    const fail = (code: grpc.status, detail: string): void => {
      if (failed) return;
      failed = true;
      release();
      this.counters.snapshotsFailed++;
      this.options.logger.warn({ peer: first?.from, detail }, 'refused a snapshot transfer');
      callback(serviceError(code, detail));
    };
    call.on('data', (chunk: WireSnapshotChunk) => {
      if (failed) return;
      if (first === undefined) {
        const refused = this.refusal(chunk.from, chunk.clusterId, call);
        if (refused !== undefined) {
          failed = true;
          callback(refused);
          return;
        }
        if (chunk.meta === null || chunk.offset !== 0) {
          fail(grpc.status.INVALID_ARGUMENT, 'the first snapshot chunk must carry the metadata at offset 0');
          return;
        }
        if (chunk.totalBytes > this.options.settings.snapshotBytesMax) {
          fail(
            grpc.status.RESOURCE_EXHAUSTED,
            `snapshot of ${chunk.totalBytes} bytes exceeds snapshotBytesMax ${this.options.settings.snapshotBytesMax}`,
          );
          return;
        }
        const admission = this.receipts.begin(chunk.from, chunk.totalBytes, () =>
          fail(grpc.status.ABORTED, 'superseded by a newer snapshot transfer from the same peer'),
        );
        if ('refused' in admission) {
          this.counters.snapshotsRefusedLimit++;
          fail(grpc.status.RESOURCE_EXHAUSTED, admission.refused);
          return;
        }
        receipt = admission.receipt;
        first = chunk;
      }
      if (chunk.offset !== received || received + chunk.data.byteLength > first.totalBytes) {
        fail(grpc.status.INVALID_ARGUMENT, `snapshot chunk at offset ${chunk.offset}, expected ${received}`);
        return;
      }
      chunks.push(chunk.data);
      received += chunk.data.byteLength;
    });
    call.on('end', () => {
      if (failed) return;
      if (first === undefined || received !== first.totalBytes) {
        fail(
          grpc.status.INVALID_ARGUMENT,
          `snapshot ended after ${received} of ${first?.totalBytes ?? 0} bytes`,
        );
        return;
      }
      const message: unknown = {
        type: 'snapshot',
        from: first.from,
        to: first.to,
        term: first.term,
        snapshot: { meta: snapshotMetaFromWire(first.meta), data: Buffer.concat(chunks, received) },
      };
      release();
      if (!isWellFormedMessage(message) || message.to !== this.options.id) {
        this.counters.messagesMalformed++;
        fail(grpc.status.INVALID_ARGUMENT, 'the snapshot metadata is malformed');
        return;
      }
      this.counters.snapshotsReceived++;
      callback(null, { bytesReceived: received });
      this.options.handler.onMessage(message);
    });
    call.on('error', () => {
      failed = true;
      release();
    });
    // grpc-js emits 'cancelled' whenever the stream closes (reset, lost connection, or after the
    // answer went out): whatever ended the transfer, its buffer and place are freed.
    call.on('cancelled', () => {
      failed = true;
      release();
    });
  }
}

function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}
