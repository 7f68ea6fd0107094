/**
 * The gRPC peer transport: one long-lived stream per peer pair, bounded queues, chunked snapshots,
 * and the peer-lost signal that drives fast failover.
 */
export { PeerTransport } from './peer-transport';
export { probePeers } from './probe';
export { LastUsableCertificates } from './last-usable-certificates';
export { ProviderChannelCredentials } from './provider-channel-credentials';
export { HandshakeRefusals } from './handshake-refusals';
export type { TlsPort } from './handshake-refusals';
export { PEER_TLS_REFRESH_MS, certificateIdentity, nodeUri, peerTls } from './peer-tls';
export type { PeerTls, PeerTlsFiles } from './peer-tls';
export type { ProbeResult } from './probe';
export type { PeerTransportOptions } from './peer-transport';
export type { PeerLinkStatus } from './peer-link';
export { TRANSPORT_DEFAULTS, validateTransportSettings } from './transport-types';
export type {
  ProbeAnswer,
  TransportHandler,
  TransportLogger,
  TransportSettings,
  TransportStats,
} from './transport-types';
export { RAFT_PROTO_PATH } from './proto';
export { warmCodecs } from './warm-codecs';
export type { CodecWarmth } from './warm-codecs';
export { HOP_LEDGER_RECORDS_MAX, HOP_STEPS, HopLedger, hopLedger } from './hop-ledger';
export type { HopRecord, HopStep } from './hop-ledger';
