import type { Message, NodeId } from '../core/index';
import type { PeerTlsFiles } from './peer-tls';

/**
 * TransportLogger is the structured logger the transport writes to (pino's Logger fits it):
 * an object of fields, then a sentence.
 */
export interface TransportLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** TransportHandler receives what the transport learns: messages, lost peers, undeliverable sends. */
export interface TransportHandler {
  /** onMessage is called with each well-formed message from a known peer, addressed to this node. */
  onMessage(message: Message): void;
  /** onPeerLost is called when an established connection to or from `peer` fails (a reset, as when its process dies). */
  onPeerLost(peer: NodeId): void;
  /** onUndeliverable is called when messages to `peer` were dropped (full queue, broken stream, failed snapshot). */
  onUndeliverable(peer: NodeId): void;
  /** onProbe answers a Probe from `peer` (see ProbeAnswer); without it, a node answers as if new. */
  onProbe?(peer: NodeId): ProbeAnswer;
}

/** ProbeAnswer is what a node tells a peer about to bootstrap: how far its log goes and how it binds that peer. */
export interface ProbeAnswer {
  readonly term: number;
  readonly lastIndex: number;
  /** boundIncarnation is the incarnation the configuration binds the asking peer to ('' when unbound). */
  readonly boundIncarnation: string;
}

/** TransportSettings are the bounds and timings of the peer transport; every one is validated. */
export interface TransportSettings {
  /** clusterId must match on both ends; it keeps two clusters from being wired together by mistake. */
  readonly clusterId: string;
  /** sendQueueMessagesMax bounds the messages queued for one peer; beyond it they are dropped. */
  readonly sendQueueMessagesMax: number;
  /** batchBytesMax bounds one batch on the stream (estimated encoded bytes). */
  readonly batchBytesMax: number;
  /** snapshotChunkBytes is the size of one snapshot chunk. */
  readonly snapshotChunkBytes: number;
  /** snapshotBytesMax bounds a snapshot this node accepts. */
  readonly snapshotBytesMax: number;
  /** snapshotStreamsMax bounds the snapshot transfers this node receives at once (SnapshotReceipts). */
  readonly snapshotStreamsMax: number;
  /**
   * snapshotBufferBytesMax bounds the bytes all inbound snapshot transfers buffer together; at
   * least snapshotBytesMax, so the largest accepted snapshot can always be received alone.
   */
  readonly snapshotBufferBytesMax: number;
  /** reconnectDelayMsMin and reconnectDelayMsMax bound the backoff before reopening a broken stream. */
  readonly reconnectDelayMsMin: number;
  readonly reconnectDelayMsMax: number;
  /**
   * peerTls switches the peer port to mutual TLS: every member presents a certificate from the
   * CA that names its member id (see peerTls). Absent: plaintext, for loopback development only.
   */
  readonly peerTls?: PeerTlsFiles;
}

/** TRANSPORT_DEFAULTS are the default settings (all but clusterId). */
export const TRANSPORT_DEFAULTS: Omit<TransportSettings, 'clusterId'> = {
  sendQueueMessagesMax: 4096,
  batchBytesMax: 4 * 1024 * 1024,
  snapshotChunkBytes: 1024 * 1024,
  snapshotBytesMax: 1024 * 1024 * 1024,
  snapshotStreamsMax: 2,
  snapshotBufferBytesMax: 1024 * 1024 * 1024,
  reconnectDelayMsMin: 20,
  reconnectDelayMsMax: 1000,
};

/** TransportStats counts what the transport did, for metrics and /status. */
export interface TransportStats {
  messagesReceived: number;
  messagesSent: number;
  messagesDropped: number;
  messagesMalformed: number;
  refusedUnknownPeer: number;
  refusedClusterMismatch: number;
  /** refusedUnauthenticated counts peer calls refused for their certificate (none, a client's, another member's). */
  refusedUnauthenticated: number;
  /** handshakesRefused counts TLS handshakes the peer port refused (no certificate, another CA, expired, plaintext). */
  handshakesRefused: number;
  snapshotsSent: number;
  snapshotsReceived: number;
  snapshotsFailed: number;
  /** snapshotsRefusedLimit counts inbound transfers refused by snapshotStreamsMax or snapshotBufferBytesMax. */
  snapshotsRefusedLimit: number;
}

/** validateTransportSettings refuses a bad value, naming the setting. */
export function validateTransportSettings(s: TransportSettings): void {
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new Error(`transport config: ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  };
  if (typeof s.clusterId !== 'string' || s.clusterId.length === 0 || s.clusterId.length > 128) {
    throw new Error('transport config: clusterId must be 1 to 128 characters');
  }
  int('sendQueueMessagesMax', s.sendQueueMessagesMax, 16, 1_000_000);
  int('batchBytesMax', s.batchBytesMax, 64 * 1024, 256 * 1024 * 1024);
  int('snapshotChunkBytes', s.snapshotChunkBytes, 1024, 64 * 1024 * 1024);
  int('snapshotBytesMax', s.snapshotBytesMax, 1024, 64 * 1024 * 1024 * 1024);
  int('snapshotStreamsMax', s.snapshotStreamsMax, 1, 64);
  int('snapshotBufferBytesMax', s.snapshotBufferBytesMax, s.snapshotBytesMax, 256 * 1024 * 1024 * 1024);
  int('reconnectDelayMsMin', s.reconnectDelayMsMin, 1, 60_000);
  int('reconnectDelayMsMax', s.reconnectDelayMsMax, s.reconnectDelayMsMin, 600_000);
  if (s.peerTls !== undefined) {
    for (const [name, file] of Object.entries(s.peerTls)) {
      if (typeof file !== 'string' || file.length === 0) {
        throw new Error(`transport config: peerTls.${name} must name a PEM file`);
      }
    }
  }
}
