import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { RaftNodeConfig } from '@omnirelay/raft';
import { RAFT_NODE_DEFAULTS, validateRaftNodeConfig } from '@omnirelay/raft';
import {
  ADMISSION_RENEWAL_LAG_MS_DEFAULT,
  ADMISSION_RENEWAL_LAG_MS_MAX,
  ADMISSION_RENEWAL_LAG_MS_MIN,
} from '../leadership/renewal-admission';
import { CLOCK_DRIFT_PPM_MAX_DEFAULT } from '../leadership/stamp-clock';
import { GRPC_KEEPALIVE_TIMEOUT_MS, GRPC_KEEPALIVE_TIME_MS } from '../grpc/limits';
import { STREAM_LIMITS_DEFAULT } from '../limits/stream-limiter';
import type { ClientTlsFiles } from '../tls/client-tls';
import { resolveClientTls } from './client-tls-config';
import { resolveReplicationCredentials } from './replication-credentials-config';
import type { ReplicationCredentialFiles } from '../cross-cluster/replication-credentials';
import { HEAD_CHECK_MS_MAX, HEAD_CHECK_MS_MIN, REPLICATOR_DEFAULTS } from '../cross-cluster/replicator';
import { resolvePeerTls } from './peer-tls-config';
import { refusePlaintextOffLoopback } from './plaintext-guard';

/** LOG_LEVELS are the accepted values of logLevel (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** ServerConfig is everything one server process needs: the Raft node's config plus the client side. */
export interface ServerConfig extends RaftNodeConfig {
  /** clientAddress is `host:port` of the HTTP client port (JSON, Server-Sent Events, /status, /metrics). */
  readonly clientAddress: string;
  /** grpcAddress is `host:port` of the public gRPC API (Leadership and Cluster services). */
  readonly grpcAddress: string;
  /**
   * metricsAddress is `host:port` of the optional plaintext health and metrics listener
   * (/healthz, /readyz, /metrics only), so probes and scrapes need no client credentials.
   */
  readonly metricsAddress?: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** httpBodyBytesMax bounds a request body; a larger one gets 413. */
  readonly httpBodyBytesMax: number;
  /** peerClients maps other members' ids to their client addresses, so a refused write can say where the leader is. */
  readonly peerClients: Readonly<Record<string, string>>;
  /**
   * peerGrpc maps other members' ids to their public gRPC addresses: a follower forwards a gRPC
   * write to the leader there, and NOT_LEADER on the gRPC edge names it. Without an entry for the
   * leader, a follower answers NOT_LEADER instead of forwarding.
   */
  readonly peerGrpc: Readonly<Record<string, string>>;
  /** skewMsMax is the largest clock difference assumed between nodes (DESIGN.md "Time"). */
  readonly skewMsMax: number;
  /**
   * clockDriftPpmMax bounds how much faster or slower than the monotonic clock lease time may run
   * while it follows the wall clock (parts per million; see StampClock). The SDK's margin is
   * maxClockSkewMs + ttl × this rate.
   */
  readonly clockDriftPpmMax: number;
  /** stallThresholdMs: an event-loop pause longer than this makes the leader grant a fresh grace before expiring leases. */
  readonly stallThresholdMs: number;
  /**
   * admissionRenewalLagMs: while the leader's oldest unanswered renewal has waited longer than
   * this, it refuses new leases with BACKPRESSURE (RenewalAdmission); 0 turns that off, else in
   * [ADMISSION_RENEWAL_LAG_MS_MIN, ADMISSION_RENEWAL_LAG_MS_MAX].
   */
  readonly admissionRenewalLagMs: number;
  /** watchHistoryEventsMax bounds the holder-change events kept for watches to resume from. */
  readonly watchHistoryEventsMax: number;
  /** join starts a node that is not in the first configuration: it waits to be added as a learner. */
  readonly join: boolean;
  /**
   * peerTlsCaFile, peerTlsCertFile and peerTlsKeyFile switch the peer port to mutual TLS (all three
   * or none; RaftNodeConfig.peerTls is built from them): the CA bundle of the cluster, and this
   * node's certificate (URI SAN spiffe://<cluster-id>/node/<id>) and key, re-read when they change.
   */
  readonly peerTlsCaFile?: string;
  /**
   * insecure lets a port without TLS listen beyond the loopback interface; without it such a
   * node refuses to start (see refusePlaintextOffLoopback).
   */
  readonly insecure: boolean;
  readonly peerTlsCertFile?: string;
  readonly peerTlsKeyFile?: string;
  /**
   * clientTlsCertFile and clientTlsKeyFile switch both client ports (gRPC and HTTP) to TLS (both
   * or neither); with clientTlsCaFile too, a client must present a certificate that CA signed.
   * clientTls is built from them (see resolveClientTls).
   */
  readonly clientTlsCertFile?: string;
  readonly clientTlsKeyFile?: string;
  readonly clientTlsCaFile?: string;
  /**
   * authTokensFile is the tokens file (hashes of bearer tokens with their identities, roles and
   * scope prefixes), re-read when it changes. With it or clientTlsCaFile, access control is on:
   * default deny (see authEnabled).
   */
  readonly authTokensFile?: string;
  /** clientTls is the validated client-port TLS files, absent when the client ports are plaintext. */
  readonly clientTls?: ClientTlsFiles;
  /**
   * replicationTlsCaFile, replicationTlsCertFile/replicationTlsKeyFile and replicationTokenFile
   * are what the replication channel presents to the other clusters' public gRPC ports;
   * replicationCredentials is built from them (see resolveReplicationCredentials).
   */
  readonly replicationTlsCaFile?: string;
  readonly replicationTlsCertFile?: string;
  readonly replicationTlsKeyFile?: string;
  readonly replicationTokenFile?: string;
  /** replicationCredentials is the validated replication channel files, absent when it is plaintext without credentials. */
  readonly replicationCredentials?: ReplicationCredentialFiles;
  /**
   * replicationHeadCheckMs is how often a passive cluster's replicator, while streaming, asks the
   * active cluster for its head revision (ReplicatorOptions.headCheckMs: the lag figure reads 0
   * only while an answer of at most two periods ago said the mirror had everything), in
   * [HEAD_CHECK_MS_MIN, HEAD_CHECK_MS_MAX].
   */
  readonly replicationHeadCheckMs: number;
  /** otlpEndpoint is the OTLP/HTTP traces URL spans are exported to; absent or empty, tracing is off. */
  readonly otlpEndpoint?: string;
  /**
   * diskFreeBytesMin: with less free space than this on the data folder's file system, the node
   * logs a warning and omnirelay_disk_space_low (and /status `disk.low`) turn on; 0 never warns.
   */
  readonly diskFreeBytesMin: number;
  /** diskCheckIntervalMs is the time between two checks of the data folder's free space. */
  readonly diskCheckIntervalMs: number;
  /** grpcStreamsPerConnectionMax bounds the open Campaign, KeepAlive and Watch calls of one client connection (StreamLimits). */
  readonly grpcStreamsPerConnectionMax: number;
  /** grpcStreamsMax bounds the open Campaign, KeepAlive and Watch calls of this node. */
  readonly grpcStreamsMax: number;
  /** watchersPerConnectionMax bounds the Watch calls of one client connection. */
  readonly watchersPerConnectionMax: number;
  /** watchersMax bounds this node's watchers: Watch calls and SSE streams together. */
  readonly watchersMax: number;
  /** grpcKeepaliveTimeMs: a client connection quiet this long is pinged (GRPC_KEEPALIVE_TIME_MS). */
  readonly grpcKeepaliveTimeMs: number;
  /** grpcKeepaliveTimeoutMs: a ping unanswered this long drops the connection and ends its calls. */
  readonly grpcKeepaliveTimeoutMs: number;
}

/** ConfigError says which setting is wrong, where it came from, and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Kind = 'string' | 'int' | 'bool' | 'peers' | 'list';

interface Setting {
  readonly key: keyof ServerConfig;
  readonly kind: Kind;
  readonly flag: string;
  readonly env: string;
  readonly help: string;
}

/** SETTINGS lists every setting with its flag and environment variable. */
export const SETTINGS: readonly Setting[] = [
  {
    key: 'join',
    kind: 'bool',
    flag: '--join',
    env: 'OMNIRELAY_JOIN',
    help: 'join an existing cluster: wait to be added as a learner (true|false)',
  },
  {
    key: 'insecure',
    kind: 'bool',
    flag: '--insecure',
    env: 'OMNIRELAY_INSECURE',
    help: 'allow plaintext ports on addresses beyond loopback (true|false)',
  },
  {
    key: 'peerTlsCaFile',
    kind: 'string',
    flag: '--peer-tls-ca',
    env: 'OMNIRELAY_PEER_TLS_CA',
    help: 'CA bundle (PEM) that signs every member certificate: with the next two, mutual TLS on the peer port',
  },
  {
    key: 'peerTlsCertFile',
    kind: 'string',
    flag: '--peer-tls-cert',
    env: 'OMNIRELAY_PEER_TLS_CERT',
    help: "this node's certificate (PEM), naming spiffe://<cluster-id>/node/<id>",
  },
  {
    key: 'peerTlsKeyFile',
    kind: 'string',
    flag: '--peer-tls-key',
    env: 'OMNIRELAY_PEER_TLS_KEY',
    help: "this node's private key (PEM)",
  },
  {
    key: 'clientTlsCertFile',
    kind: 'string',
    flag: '--client-tls-cert',
    env: 'OMNIRELAY_CLIENT_TLS_CERT',
    help: "this node's certificate (PEM) for the client ports: with --client-tls-key, TLS on gRPC and HTTP",
  },
  {
    key: 'clientTlsKeyFile',
    kind: 'string',
    flag: '--client-tls-key',
    env: 'OMNIRELAY_CLIENT_TLS_KEY',
    help: 'the private key (PEM) of --client-tls-cert',
  },
  {
    key: 'clientTlsCaFile',
    kind: 'string',
    flag: '--client-tls-ca',
    env: 'OMNIRELAY_CLIENT_TLS_CA',
    help: 'CA bundle (PEM): clients must present a certificate it signed (optional)',
  },
  {
    key: 'authTokensFile',
    kind: 'string',
    flag: '--auth-tokens-file',
    env: 'OMNIRELAY_AUTH_TOKENS_FILE',
    help: 'tokens file (YAML: name, sha256, roles, scopes) of bearer tokens clients may use; turns access control on',
  },
  {
    key: 'replicationTlsCaFile',
    kind: 'string',
    flag: '--replication-tls-ca',
    env: 'OMNIRELAY_REPLICATION_TLS_CA',
    help: "CA bundle (PEM) of the other clusters' client-port certificates: replication dials them over TLS",
  },
  {
    key: 'replicationTlsCertFile',
    kind: 'string',
    flag: '--replication-tls-cert',
    env: 'OMNIRELAY_REPLICATION_TLS_CERT',
    help: 'client certificate (PEM) replication presents to the other clusters (needs mesh.read there); with --replication-tls-key',
  },
  {
    key: 'replicationTlsKeyFile',
    kind: 'string',
    flag: '--replication-tls-key',
    env: 'OMNIRELAY_REPLICATION_TLS_KEY',
    help: 'the private key (PEM) of --replication-tls-cert',
  },
  {
    key: 'replicationTokenFile',
    kind: 'string',
    flag: '--replication-token-file',
    env: 'OMNIRELAY_REPLICATION_TOKEN_FILE',
    help: 'file holding the bearer token replication presents to the other clusters (needs mesh.read there); re-read on each connection',
  },
  {
    key: 'replicationHeadCheckMs',
    kind: 'int',
    flag: '--replication-head-check-ms',
    env: 'OMNIRELAY_REPLICATION_HEAD_CHECK_MS',
    help: `how often a passive cluster's replicator asks the active cluster for its head revision, for the lag figure (${HEAD_CHECK_MS_MIN}..${HEAD_CHECK_MS_MAX})`,
  },
  {
    key: 'initialClusterState',
    kind: 'string',
    flag: '--initial-cluster-state',
    env: 'OMNIRELAY_INITIAL_CLUSTER_STATE',
    help: 'with an empty data folder: new bootstraps a new cluster, existing (the default) waits to be added',
  },
  {
    key: 'grpcAddress',
    kind: 'string',
    flag: '--grpc-address',
    env: 'OMNIRELAY_GRPC_ADDRESS',
    help: 'host:port for the public gRPC API',
  },
  {
    key: 'metricsAddress',
    kind: 'string',
    flag: '--metrics-address',
    env: 'OMNIRELAY_METRICS_ADDRESS',
    help: 'host:port of a plaintext listener serving only /healthz, /readyz and /metrics (probes and scrapes without credentials)',
  },
  {
    key: 'peerClients',
    kind: 'peers',
    flag: '--peer-clients',
    env: 'OMNIRELAY_PEER_CLIENTS',
    help: "other members' client addresses: id=host:port,...",
  },
  {
    key: 'peerGrpc',
    kind: 'peers',
    flag: '--peer-grpc',
    env: 'OMNIRELAY_PEER_GRPC',
    help: "other members' public gRPC addresses (a follower forwards gRPC writes there): id=host:port,...",
  },
  {
    key: 'skewMsMax',
    kind: 'int',
    flag: '--skew-ms-max',
    env: 'OMNIRELAY_SKEW_MS_MAX',
    help: 'largest clock skew assumed between nodes',
  },
  {
    key: 'clockDriftPpmMax',
    kind: 'int',
    flag: '--clock-drift-ppm-max',
    env: 'OMNIRELAY_CLOCK_DRIFT_PPM_MAX',
    help: 'how much faster or slower than the monotonic clock lease time may run (ppm)',
  },

  {
    key: 'stallThresholdMs',
    kind: 'int',
    flag: '--stall-threshold-ms',
    env: 'OMNIRELAY_STALL_THRESHOLD_MS',
    help: 'event-loop pause that counts as a stall',
  },
  {
    key: 'admissionRenewalLagMs',
    kind: 'int',
    flag: '--admission-renewal-lag-ms',
    env: 'OMNIRELAY_ADMISSION_RENEWAL_LAG_MS',
    help: `refuse new leases (BACKPRESSURE) while the leader's oldest renewal has waited longer than this; 0 = never (${ADMISSION_RENEWAL_LAG_MS_MIN}..${ADMISSION_RENEWAL_LAG_MS_MAX})`,
  },
  {
    key: 'watchHistoryEventsMax',
    kind: 'int',
    flag: '--watch-history-events-max',
    env: 'OMNIRELAY_WATCH_HISTORY_EVENTS_MAX',
    help: 'events kept for watch resume',
  },
  {
    key: 'grpcStreamsPerConnectionMax',
    kind: 'int',
    flag: '--grpc-streams-per-connection-max',
    env: 'OMNIRELAY_GRPC_STREAMS_PER_CONNECTION_MAX',
    help: 'open Campaign/KeepAlive/Watch calls per client connection',
  },
  {
    key: 'grpcStreamsMax',
    kind: 'int',
    flag: '--grpc-streams-max',
    env: 'OMNIRELAY_GRPC_STREAMS_MAX',
    help: 'open Campaign/KeepAlive/Watch calls on this node',
  },
  {
    key: 'watchersPerConnectionMax',
    kind: 'int',
    flag: '--watchers-per-connection-max',
    env: 'OMNIRELAY_WATCHERS_PER_CONNECTION_MAX',
    help: 'Watch calls per client connection',
  },
  {
    key: 'watchersMax',
    kind: 'int',
    flag: '--watchers-max',
    env: 'OMNIRELAY_WATCHERS_MAX',
    help: 'watchers (gRPC Watch and SSE) on this node',
  },
  {
    key: 'grpcKeepaliveTimeMs',
    kind: 'int',
    flag: '--grpc-keepalive-time-ms',
    env: 'OMNIRELAY_GRPC_KEEPALIVE_TIME_MS',
    help: 'ping a quiet gRPC client connection after this long',
  },
  {
    key: 'grpcKeepaliveTimeoutMs',
    kind: 'int',
    flag: '--grpc-keepalive-timeout-ms',
    env: 'OMNIRELAY_GRPC_KEEPALIVE_TIMEOUT_MS',
    help: 'drop a gRPC client connection whose ping is unanswered this long (its calls end)',
  },
  {
    key: 'snapshotStreamsMax',
    kind: 'int',
    flag: '--snapshot-streams-max',
    env: 'OMNIRELAY_SNAPSHOT_STREAMS_MAX',
    help: 'snapshot transfers this node receives at once',
  },
  {
    key: 'snapshotBufferBytesMax',
    kind: 'int',
    flag: '--snapshot-buffer-bytes-max',
    env: 'OMNIRELAY_SNAPSHOT_BUFFER_BYTES_MAX',
    help: 'bytes all incoming snapshot transfers may buffer together',
  },
  {
    key: 'otlpEndpoint',
    kind: 'string',
    flag: '--otlp-endpoint',
    env: 'OMNIRELAY_OTLP_ENDPOINT',
    help: 'OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces (default: tracing off)',
  },
  {
    key: 'diskFreeBytesMin',
    kind: 'int',
    flag: '--disk-free-bytes-min',
    env: 'OMNIRELAY_DISK_FREE_BYTES_MIN',
    help: 'warn (log, metric, /status) under this many free bytes on the data folder; 0: never',
  },
  {
    key: 'diskCheckIntervalMs',
    kind: 'int',
    flag: '--disk-check-interval-ms',
    env: 'OMNIRELAY_DISK_CHECK_INTERVAL_MS',
    help: "time between checks of the data folder's free space",
  },
  {
    key: 'id',
    kind: 'string',
    flag: '--id',
    env: 'OMNIRELAY_ID',
    help: 'this node id (letters, digits, . _ -)',
  },
  {
    key: 'clusterId',
    kind: 'string',
    flag: '--cluster-id',
    env: 'OMNIRELAY_CLUSTER_ID',
    help: 'cluster id; peers must agree',
  },
  {
    key: 'dataDir',
    kind: 'string',
    flag: '--data-dir',
    env: 'OMNIRELAY_DATA_DIR',
    help: 'data folder (default data/<id>)',
  },
  {
    key: 'peerAddress',
    kind: 'string',
    flag: '--peer-address',
    env: 'OMNIRELAY_PEER_ADDRESS',
    help: 'host:port for peers',
  },
  {
    key: 'clientAddress',
    kind: 'string',
    flag: '--client-address',
    env: 'OMNIRELAY_CLIENT_ADDRESS',
    help: 'host:port for clients',
  },
  {
    key: 'peers',
    kind: 'peers',
    flag: '--peers',
    env: 'OMNIRELAY_PEERS',
    help: 'other members: id=host:port,...',
  },
  {
    key: 'bootstrapVoters',
    kind: 'list',
    flag: '--bootstrap-voters',
    env: 'OMNIRELAY_BOOTSTRAP_VOTERS',
    help: 'first voters of a new cluster (default: this node and its peers)',
  },
  { key: 'tickMs', kind: 'int', flag: '--tick-ms', env: 'OMNIRELAY_TICK_MS', help: 'Raft tick length' },
  {
    key: 'heartbeatMs',
    kind: 'int',
    flag: '--heartbeat-ms',
    env: 'OMNIRELAY_HEARTBEAT_MS',
    help: 'leader heartbeat interval',
  },
  {
    key: 'electionTimeoutMs',
    kind: 'int',
    flag: '--election-timeout-ms',
    env: 'OMNIRELAY_ELECTION_TIMEOUT_MS',
    help: 'base election timeout',
  },
  {
    key: 'electionStretchMsMax',
    kind: 'int',
    flag: '--election-stretch-ms-max',
    env: 'OMNIRELAY_ELECTION_STRETCH_MS_MAX',
    help: 'most a follower adds to its election timeout after its leader was slow but alive (0: off; default 3 × the election timeout)',
  },
  {
    key: 'unreachableCampaignDelayMsMax',
    kind: 'int',
    flag: '--unreachable-campaign-delay-ms-max',
    env: 'OMNIRELAY_UNREACHABLE_CAMPAIGN_DELAY_MS_MAX',
    help: 'max random delay before a fast-failover campaign',
  },
  {
    key: 'fastFailover',
    kind: 'bool',
    flag: '--fast-failover',
    env: 'OMNIRELAY_FAST_FAILOVER',
    help: 'campaign at once when the leader connection resets (true|false)',
  },
  {
    key: 'hopLedger',
    kind: 'bool',
    flag: '--hop-ledger',
    env: 'OMNIRELAY_HOP_LEDGER',
    help: 'debug: record the time of each step of writes and transfers, read with GET /debug/hops (true|false)',
  },
  {
    key: 'proposalTimeoutMs',
    kind: 'int',
    flag: '--proposal-timeout-ms',
    env: 'OMNIRELAY_PROPOSAL_TIMEOUT_MS',
    help: 'default write deadline',
  },
  {
    key: 'snapshotEntries',
    kind: 'int',
    flag: '--snapshot-entries',
    env: 'OMNIRELAY_SNAPSHOT_ENTRIES',
    help: 'entries between snapshots',
  },
  {
    key: 'snapshotTailEntries',
    kind: 'int',
    flag: '--snapshot-tail-entries',
    env: 'OMNIRELAY_SNAPSHOT_TAIL_ENTRIES',
    help: 'entries kept before a snapshot index, so a follower that far behind gets entries, not a snapshot',
  },
  {
    key: 'snapshotLogBytes',
    kind: 'int',
    flag: '--snapshot-log-bytes',
    env: 'OMNIRELAY_SNAPSHOT_LOG_BYTES',
    help: 'bytes of log entries between snapshots (whichever of this and --snapshot-entries comes first); the tail kept is at most half of it',
  },
  {
    key: 'logLevel',
    kind: 'string',
    flag: '--log-level',
    env: 'OMNIRELAY_LOG_LEVEL',
    help: LOG_LEVELS.join('|'),
  },
  {
    key: 'httpBodyBytesMax',
    kind: 'int',
    flag: '--http-body-bytes-max',
    env: 'OMNIRELAY_HTTP_BODY_BYTES_MAX',
    help: 'largest accepted request body',
  },
];

const DEFAULTS = {
  ...RAFT_NODE_DEFAULTS,
  clusterId: 'omnirelay',
  peerAddress: '127.0.0.1:7101',
  clientAddress: '127.0.0.1:7201',
  grpcAddress: '127.0.0.1:7301',
  peers: {},
  peerClients: {},
  peerGrpc: {},
  skewMsMax: 250,
  clockDriftPpmMax: CLOCK_DRIFT_PPM_MAX_DEFAULT,
  stallThresholdMs: 200,
  replicationHeadCheckMs: REPLICATOR_DEFAULTS.headCheckMs,
  admissionRenewalLagMs: ADMISSION_RENEWAL_LAG_MS_DEFAULT,
  watchHistoryEventsMax: 100_000,
  join: false,
  insecure: false,
  initialClusterState: 'existing',
  logLevel: 'info',
  httpBodyBytesMax: 1024 * 1024,
  diskFreeBytesMin: 1024 * 1024 * 1024,
  diskCheckIntervalMs: 10_000,
  ...STREAM_LIMITS_DEFAULT,
  grpcKeepaliveTimeMs: GRPC_KEEPALIVE_TIME_MS,
  grpcKeepaliveTimeoutMs: GRPC_KEEPALIVE_TIMEOUT_MS,
} as const;

function parseValue(setting: Setting, raw: unknown, source: string): unknown {
  const where = `${setting.key} (from ${source})`;
  switch (setting.kind) {
    case 'string':
      if (typeof raw !== 'string') throw new ConfigError(`${where} must be a string`);
      return raw;
    case 'int': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && /^-?\d+$/.test(raw.trim())
            ? Number(raw)
            : NaN;
      if (!Number.isSafeInteger(n))
        throw new ConfigError(`${where} must be an integer, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'bool':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      throw new ConfigError(`${where} must be true or false, got ${JSON.stringify(raw)}`);
    case 'list':
      if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) return raw;
      if (typeof raw === 'string')
        return raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
      throw new ConfigError(`${where} must be a comma-separated list`);
    case 'peers': {
      if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) return raw;
      if (typeof raw !== 'string') throw new ConfigError(`${where} must be id=host:port,...`);
      const peers: Record<string, string> = {};
      for (const part of raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)) {
        const eq = part.indexOf('=');
        if (eq <= 0) throw new ConfigError(`${where}: ${JSON.stringify(part)} must be id=host:port`);
        peers[part.slice(0, eq)] = part.slice(eq + 1);
      }
      return peers;
    }
  }
}

/**
 * loadServerConfig builds the config from defaults, then a JSON file (`--config`), then
 * OMNIRELAY_* environment variables, then flags; later sources win. Every value is validated; a
 * bad one throws ConfigError naming the setting and its source.
 */
export function loadServerConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServerConfig {
  const program = new Command('omnirelay-server')
    .description('Run one OmniRelay Control Plane node.')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) })
    .option('--config <file>', 'JSON config file (keys as in the README)');
  for (const s of SETTINGS) program.option(`${s.flag} <value>`, `${s.help} [env ${s.env}]`);
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') throw e;
      throw new ConfigError(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  const flags = program.opts<Record<string, unknown>>();
  const merged: Record<string, unknown> = { ...DEFAULTS };

  const file = flags['config'];
  if (typeof file === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(
        `config file ${file} cannot be read as JSON: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`config file ${file} must hold a JSON object`);
    }
    for (const [key, raw] of Object.entries(parsed)) {
      const setting = SETTINGS.find((s) => s.key === key);
      if (setting === undefined)
        throw new ConfigError(`config file ${file}: unknown setting ${JSON.stringify(key)}`);
      merged[key] = parseValue(setting, raw, `config file ${file}`);
    }
  }
  for (const s of SETTINGS) {
    const raw = env[s.env];
    if (raw !== undefined && raw !== '') merged[s.key] = parseValue(s, raw, `environment ${s.env}`);
  }
  for (const s of SETTINGS) {
    const optionName = s.flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const raw = flags[optionName];
    if (raw !== undefined) merged[s.key] = parseValue(s, raw, `flag ${s.flag}`);
  }

  if (typeof merged['id'] !== 'string')
    throw new ConfigError('id is required: pass --id or set OMNIRELAY_ID');
  const id = merged['id'];
  merged['dataDir'] ??= `data/${id}`;
  if (merged['join'] === true && merged['bootstrapVoters'] !== undefined) {
    throw new ConfigError(
      'join and bootstrapVoters exclude each other: a joining node learns the configuration from the leader',
    );
  }
  if (merged['join'] === true && merged['initialClusterState'] === 'new') {
    throw new ConfigError(
      'join and initialClusterState new exclude each other: a joining node waits to be added to a running cluster',
    );
  }
  const peerTls = resolvePeerTls(merged);
  if (peerTls !== undefined && 'refused' in peerTls) throw new ConfigError(peerTls.refused);
  if (peerTls !== undefined) merged['peerTls'] = peerTls;
  const clientTls = resolveClientTls(merged);
  if (clientTls !== undefined && 'refused' in clientTls) throw new ConfigError(clientTls.refused);
  if (clientTls !== undefined) merged['clientTls'] = clientTls;
  const replication = resolveReplicationCredentials(merged);
  if (replication !== undefined && 'refused' in replication) throw new ConfigError(replication.refused);
  if (replication !== undefined) merged['replicationCredentials'] = replication;
  merged['bootstrapVoters'] ??=
    merged['join'] === true ? [] : [id, ...Object.keys(merged['peers'] as Record<string, string>)].sort();
  const config = merged as unknown as ServerConfig;
  try {
    validateRaftNodeConfig(config);
  } catch (e) {
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
  if (!/^[^:\s]+:\d{1,5}$/.test(config.clientAddress)) {
    throw new ConfigError(`clientAddress ${JSON.stringify(config.clientAddress)} must be host:port`);
  }
  if (!/^[^:\s]+:\d{1,5}$/.test(config.grpcAddress)) {
    throw new ConfigError(`grpcAddress ${JSON.stringify(config.grpcAddress)} must be host:port`);
  }
  if (config.metricsAddress !== undefined && !/^[^:\s]+:\d{1,5}$/.test(config.metricsAddress)) {
    throw new ConfigError(`metricsAddress ${JSON.stringify(config.metricsAddress)} must be host:port`);
  }
  const ports = [
    config.peerAddress,
    config.clientAddress,
    config.grpcAddress,
    ...(config.metricsAddress === undefined ? [] : [config.metricsAddress]),
  ];
  if (new Set(ports).size !== ports.length && !ports.some((p) => p.endsWith(':0'))) {
    throw new ConfigError(
      `peerAddress, clientAddress, grpcAddress and metricsAddress must differ (${ports.join(', ')}): each listener needs its own port`,
    );
  }
  const plaintext = refusePlaintextOffLoopback(
    [
      {
        what: 'peer port',
        address: config.peerAddress,
        tls: config.peerTls !== undefined,
        flags: '--peer-tls-ca, --peer-tls-cert and --peer-tls-key',
      },
      ...[
        ['client HTTP port', config.clientAddress],
        ['client gRPC port', config.grpcAddress],
      ].map(([what, address]) => ({
        what: what!,
        address: address!,
        // Beyond loopback, anyone who reaches the port must prove who they are (default deny).
        tls: config.clientTls !== undefined && authEnabled(config),
        flags: '--client-tls-cert and --client-tls-key, with --client-tls-ca or --auth-tokens-file',
        missing: 'TLS and client authentication',
      })),
    ],
    config.insecure,
  );
  if (plaintext !== undefined) throw new ConfigError(plaintext);
  if (config.clientAddress === config.peerAddress) {
    throw new ConfigError(
      `clientAddress and peerAddress must differ (both ${config.clientAddress}): peers and clients use separate ports`,
    );
  }
  if (!(LOG_LEVELS as readonly string[]).includes(config.logLevel)) {
    throw new ConfigError(
      `logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(config.logLevel)}`,
    );
  }
  if (
    !Number.isSafeInteger(config.httpBodyBytesMax) ||
    config.httpBodyBytesMax < 1024 ||
    config.httpBodyBytesMax > 64 * 1024 * 1024
  ) {
    throw new ConfigError(
      `httpBodyBytesMax must be an integer in [1024, 67108864], got ${String(config.httpBodyBytesMax)}`,
    );
  }
  const bounded: Array<[string, number, number, number]> = [
    ['skewMsMax', config.skewMsMax, 0, 60_000],
    ['clockDriftPpmMax', config.clockDriftPpmMax, 0, 100_000],
    ['stallThresholdMs', config.stallThresholdMs, 50, 60_000],
    ['replicationHeadCheckMs', config.replicationHeadCheckMs, HEAD_CHECK_MS_MIN, HEAD_CHECK_MS_MAX],
    ['watchHistoryEventsMax', config.watchHistoryEventsMax, 100, 10_000_000],
    ['diskFreeBytesMin', config.diskFreeBytesMin, 0, Number.MAX_SAFE_INTEGER],
    ['diskCheckIntervalMs', config.diskCheckIntervalMs, 100, 3_600_000],
    ['grpcStreamsPerConnectionMax', config.grpcStreamsPerConnectionMax, 1, 1_000_000],
    ['grpcStreamsMax', config.grpcStreamsMax, 1, 1_000_000],
    ['watchersPerConnectionMax', config.watchersPerConnectionMax, 1, 1_000_000],
    ['watchersMax', config.watchersMax, 1, 1_000_000],
    ['grpcKeepaliveTimeMs', config.grpcKeepaliveTimeMs, 100, 3_600_000],
    ['grpcKeepaliveTimeoutMs', config.grpcKeepaliveTimeoutMs, 100, 600_000],
  ];
  for (const [name, v, min, max] of bounded) {
    if (!Number.isSafeInteger(v) || v < min || v > max)
      throw new ConfigError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  const lag = config.admissionRenewalLagMs;
  if (
    lag !== 0 &&
    !(Number.isSafeInteger(lag) && lag >= ADMISSION_RENEWAL_LAG_MS_MIN && lag <= ADMISSION_RENEWAL_LAG_MS_MAX)
  ) {
    throw new ConfigError(
      `admissionRenewalLagMs must be 0 (never refuse) or an integer in [${ADMISSION_RENEWAL_LAG_MS_MIN}, ${ADMISSION_RENEWAL_LAG_MS_MAX}], got ${String(lag)}`,
    );
  }
  if (config.otlpEndpoint !== undefined && config.otlpEndpoint !== '') {
    let protocol = '';
    try {
      protocol = new URL(config.otlpEndpoint).protocol;
    } catch {
      // Not a URL at all: refused below like any other scheme.
    }
    if (protocol !== 'http:' && protocol !== 'https:')
      throw new ConfigError(
        `otlpEndpoint must be an http(s) URL such as http://127.0.0.1:4318/v1/traces, got ${JSON.stringify(config.otlpEndpoint)}`,
      );
  }
  for (const key of ['peerClients', 'peerGrpc'] as const) {
    for (const [peer, address] of Object.entries(config[key])) {
      if (config.peers[peer] === undefined)
        throw new ConfigError(`${key} names ${peer}, which is not in peers`);
      if (!/^[^:\s]+:\d{1,5}$/.test(address))
        throw new ConfigError(`${key} ${peer} address ${JSON.stringify(address)} must be host:port`);
    }
  }
  return config;
}

/**
 * authEnabled tells whether the client ports' access control is on: clients are authenticated
 * (a client CA or a tokens file is configured), so every call is denied unless its caller holds
 * the permission.
 */
export function authEnabled(config: Pick<ServerConfig, 'clientTls' | 'authTokensFile'>): boolean {
  return config.clientTls?.caFile !== undefined || config.authTokensFile !== undefined;
}
