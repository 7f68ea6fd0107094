import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadServerConfig } from '../../src/index';
import { HEAD_CHECK_MS_MAX, HEAD_CHECK_MS_MIN } from '../../src/cross-cluster/replicator';
import {
  ADMISSION_RENEWAL_LAG_MS_MAX,
  ADMISSION_RENEWAL_LAG_MS_MIN,
} from '../../src/leadership/renewal-admission';

const peers = ['--peers', 'n2=127.0.0.1:7102,n3=127.0.0.1:7103'];

/** tempDirs are the folders configDir made; every one is removed after the file's tests. */
const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** configDir makes a fresh folder for a test's config files (removed after the file's tests). */
function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-config-'));
  tempDirs.push(dir);
  return dir;
}

function configError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    loadServerConfig(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadServerConfig', () => {
  it('derives the data folder and the bootstrap voters from the id and the peers', () => {
    const c = loadServerConfig(['--id', 'n1', ...peers], {});
    expect(c.dataDir).toBe('data/n1');
    expect(c.bootstrapVoters).toEqual(['n1', 'n2', 'n3']);
    expect(c.peers).toEqual({ n2: '127.0.0.1:7102', n3: '127.0.0.1:7103' });
    expect(c.electionTimeoutMs).toBe(500);
    expect(c.heartbeatMs).toBe(50);
  });

  it('lets flags override the environment, which overrides the file', () => {
    const dir = configDir();
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ id: 'n1', electionTimeoutMs: 1000, heartbeatMs: 100, logLevel: 'debug' }),
    );
    const c = loadServerConfig(['--config', file, '--heartbeat-ms', '60'], {
      OMNIRELAY_ELECTION_TIMEOUT_MS: '800',
      OMNIRELAY_HEARTBEAT_MS: '70',
    });
    expect(c.electionTimeoutMs).toBe(800);
    expect(c.heartbeatMs).toBe(60);
    expect(c.logLevel).toBe('debug');
  });

  it('requires an id', () => {
    expect(configError([])).toMatch(/id is required/);
  });

  it('names the flag of a value that is not an integer', () => {
    expect(configError(['--id', 'n1', '--tick-ms', 'ten'])).toMatch(
      /tickMs \(from flag --tick-ms\) must be an integer/,
    );
  });

  it('names the environment variable of a bad boolean', () => {
    expect(configError(['--id', 'n1'], { OMNIRELAY_FAST_FAILOVER: 'maybe' })).toMatch(
      /OMNIRELAY_FAST_FAILOVER/,
    );
  });

  it('refuses an election timeout shorter than two heartbeats', () => {
    expect(configError(['--id', 'n1', '--heartbeat-ms', '100', '--election-timeout-ms', '150'])).toMatch(
      /electionTimeoutMs/,
    );
  });

  it('reads the election stretch bound from --election-stretch-ms-max or its env, absent by default, and refuses one above 10 election timeouts', () => {
    expect(loadServerConfig(['--id', 'n1'], {}).electionStretchMsMax).toBeUndefined();
    expect(loadServerConfig(['--id', 'n1', '--election-stretch-ms-max', '0'], {}).electionStretchMsMax).toBe(
      0,
    );
    expect(
      loadServerConfig(['--id', 'n1'], { OMNIRELAY_ELECTION_STRETCH_MS_MAX: '2000' }).electionStretchMsMax,
    ).toBe(2000);
    expect(configError(['--id', 'n1', '--election-stretch-ms-max', '5001'])).toMatch(
      /electionStretchMsMax must be an integer in \[0, 5000\], got 5001/,
    );
    expect(configError(['--id', 'n1', '--election-stretch-ms-max', '-1'])).toMatch(/electionStretchMsMax/);
    expect(configError(['--id', 'n1', '--election-stretch-ms-max', 'lots'])).toMatch(
      /--election-stretch-ms-max/,
    );
  });

  it('reads the snapshot tail from --snapshot-tail-entries and refuses a negative one, naming it', () => {
    expect(loadServerConfig(['--id', 'n1', '--snapshot-tail-entries', '0'], {}).snapshotTailEntries).toBe(0);
    expect(loadServerConfig(['--id', 'n1'], {}).snapshotTailEntries).toBe(5000);
    expect(configError(['--id', 'n1', '--snapshot-tail-entries', '-1'])).toMatch(
      /snapshotTailEntries must be an integer in \[0, 100000000\], got -1/,
    );
  });

  it('reads the snapshot log bytes from --snapshot-log-bytes or its env, and refuses one below two of the largest entries', () => {
    expect(loadServerConfig(['--id', 'n1'], {}).snapshotLogBytes).toBe(64 * 1024 * 1024);
    expect(loadServerConfig(['--id', 'n1', '--snapshot-log-bytes', '8388608'], {}).snapshotLogBytes).toBe(
      8388608,
    );
    expect(
      loadServerConfig(['--id', 'n1'], { OMNIRELAY_SNAPSHOT_LOG_BYTES: '4194304' }).snapshotLogBytes,
    ).toBe(4194304);
    expect(configError(['--id', 'n1', '--snapshot-log-bytes', '1000'])).toMatch(
      /snapshotLogBytes must be an integer in \[2097152, 68719476736\], got 1000/,
    );
    expect(configError(['--id', 'n1', '--snapshot-log-bytes', 'lots'])).toMatch(/--snapshot-log-bytes/);
  });

  it('refuses a peer list that names this node', () => {
    expect(configError(['--id', 'n1', '--peers', 'n1=127.0.0.1:7101'])).toMatch(
      /must not list this node itself/,
    );
  });

  it('refuses a malformed peer entry', () => {
    expect(configError(['--id', 'n1', '--peers', 'n2'])).toMatch(/must be id=host:port/);
  });

  it('refuses the same port for peers and clients', () => {
    expect(
      configError(['--id', 'n1', '--peer-address', '127.0.0.1:9000', '--client-address', '127.0.0.1:9000']),
    ).toMatch(/its own port/);
  });

  it('refuses an unknown setting in the file, naming it', () => {
    const dir = configDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ id: 'n1', electionTimout: 5 }));
    expect(configError(['--config', file])).toMatch(/unknown setting "electionTimout"/);
  });

  it('refuses a file that is not JSON', () => {
    const dir = configDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, '{ id: n1');
    expect(configError(['--config', file])).toMatch(/cannot be read as JSON/);
  });

  it('refuses an unknown flag', () => {
    expect(configError(['--id', 'n1', '--electon-timeout-ms', '5'])).toMatch(/unknown option/);
  });

  it("reads the other members' public gRPC addresses from --peer-grpc or OMNIRELAY_PEER_GRPC", () => {
    const fromFlag = loadServerConfig(['--id', 'n1', ...peers, '--peer-grpc', 'n2=127.0.0.1:7302'], {});
    expect(fromFlag.peerGrpc).toEqual({ n2: '127.0.0.1:7302' });
    const fromEnv = loadServerConfig(['--id', 'n1', ...peers], {
      OMNIRELAY_PEER_GRPC: 'n2=127.0.0.1:7302,n3=127.0.0.1:7303',
    });
    expect(fromEnv.peerGrpc).toEqual({ n2: '127.0.0.1:7302', n3: '127.0.0.1:7303' });
    expect(loadServerConfig(['--id', 'n1', ...peers], {}).peerGrpc).toEqual({});
  });

  it('refuses a --peer-grpc entry for a member not in --peers, or without host:port', () => {
    expect(configError(['--id', 'n1', ...peers, '--peer-grpc', 'n9=127.0.0.1:7309'])).toMatch(
      /peerGrpc names n9, which is not in peers/,
    );
    expect(configError(['--id', 'n1', ...peers, '--peer-grpc', 'n2=nowhere'])).toMatch(
      /peerGrpc n2 address "nowhere" must be host:port/,
    );
    expect(configError(['--id', 'n1', ...peers, '--peer-grpc', 'n2'])).toMatch(/must be id=host:port/);
  });

  it("takes a metrics address that is host:port and not another listener's, from a flag or the environment", () => {
    expect(
      loadServerConfig(['--id', 'n1', ...peers, '--metrics-address', '0.0.0.0:9101'], {}).metricsAddress,
    ).toBe('0.0.0.0:9101');
    expect(
      loadServerConfig(['--id', 'n1', ...peers], { OMNIRELAY_METRICS_ADDRESS: '127.0.0.1:9101' })
        .metricsAddress,
    ).toBe('127.0.0.1:9101');
    expect(configError(['--id', 'n1', ...peers, '--metrics-address', 'nowhere'])).toMatch(
      /metricsAddress "nowhere" must be host:port/,
    );
    expect(
      configError([
        '--id',
        'n1',
        ...peers,
        '--grpc-address',
        '127.0.0.1:9101',
        '--metrics-address',
        '127.0.0.1:9101',
      ]),
    ).toMatch(/peerAddress, clientAddress, grpcAddress and metricsAddress must differ/);
  });

  it('refuses a bootstrap voter without an address', () => {
    expect(configError(['--id', 'n1', ...peers, '--bootstrap-voters', 'n1,n2,n9'])).toMatch(
      /n9 has no address/,
    );
  });

  it('starts an empty data folder as an existing cluster unless told new, and refuses anything else', () => {
    expect(loadServerConfig(['--id', 'n1', ...peers], {}).initialClusterState).toBe('existing');
    expect(
      loadServerConfig(['--id', 'n1', ...peers], { OMNIRELAY_INITIAL_CLUSTER_STATE: 'new' })
        .initialClusterState,
    ).toBe('new');
    expect(configError(['--id', 'n1', ...peers, '--initial-cluster-state', 'fresh'])).toMatch(
      /initialClusterState must be new or existing, got "fresh"/,
    );
    expect(configError(['--id', 'n1', ...peers, '--join', 'true', '--initial-cluster-state', 'new'])).toMatch(
      /join and initialClusterState new exclude each other/,
    );
  });

  it('warns under 1 GiB free on the data folder by default, checked every 10 s, and refuses bad values naming the setting', () => {
    const c = loadServerConfig(['--id', 'n1', ...peers], {});
    expect(c.diskFreeBytesMin).toBe(1024 ** 3);
    expect(c.diskCheckIntervalMs).toBe(10_000);
    const set = loadServerConfig(['--id', 'n1', ...peers, '--disk-free-bytes-min', '0'], {
      OMNIRELAY_DISK_CHECK_INTERVAL_MS: '500',
    });
    expect([set.diskFreeBytesMin, set.diskCheckIntervalMs]).toEqual([0, 500]);
    expect(configError(['--id', 'n1', ...peers, '--disk-free-bytes-min', '-1'])).toMatch(
      /diskFreeBytesMin must be an integer in \[0, 9007199254740991\], got -1/,
    );
    expect(configError(['--id', 'n1', ...peers, '--disk-free-bytes-min', '1GiB'])).toMatch(
      /diskFreeBytesMin \(from flag --disk-free-bytes-min\) must be an integer/,
    );
    expect(configError(['--id', 'n1', ...peers], { OMNIRELAY_DISK_CHECK_INTERVAL_MS: '50' })).toMatch(
      /diskCheckIntervalMs must be an integer in \[100, 3600000\], got 50/,
    );
  });

  it('reads the stream, watcher, keepalive and snapshot limits from flags or the environment', () => {
    const c = loadServerConfig(
      [
        '--id',
        'n1',
        '--grpc-streams-per-connection-max',
        '7',
        '--grpc-streams-max',
        '70',
        '--watchers-per-connection-max',
        '3',
        '--grpc-keepalive-time-ms',
        '2000',
        '--grpc-keepalive-timeout-ms',
        '1000',
        '--snapshot-streams-max',
        '4',
      ],
      { OMNIRELAY_WATCHERS_MAX: '30', OMNIRELAY_SNAPSHOT_BUFFER_BYTES_MAX: String(2 * 1024 ** 3) },
    );
    expect(c).toMatchObject({
      grpcStreamsPerConnectionMax: 7,
      grpcStreamsMax: 70,
      watchersPerConnectionMax: 3,
      watchersMax: 30,
      grpcKeepaliveTimeMs: 2000,
      grpcKeepaliveTimeoutMs: 1000,
      snapshotStreamsMax: 4,
      snapshotBufferBytesMax: 2 * 1024 ** 3,
    });
    const defaults = loadServerConfig(['--id', 'n1'], {});
    expect(defaults).toMatchObject({
      grpcStreamsPerConnectionMax: 2000,
      grpcStreamsMax: 20_000,
      watchersPerConnectionMax: 1000,
      watchersMax: 10_000,
      grpcKeepaliveTimeMs: 10_000,
      grpcKeepaliveTimeoutMs: 5000,
      snapshotStreamsMax: 2,
      snapshotBufferBytesMax: 1024 ** 3,
    });
  });

  it('refuses a stream, watcher, keepalive or snapshot limit out of range, naming it', () => {
    expect(configError(['--id', 'n1', '--grpc-streams-max', '0'])).toMatch(
      /grpcStreamsMax must be an integer in \[1, /,
    );
    expect(configError(['--id', 'n1'], { OMNIRELAY_WATCHERS_MAX: '-1' })).toMatch(/watchersMax must be/);
    expect(configError(['--id', 'n1', '--watchers-per-connection-max', 'many'])).toMatch(
      /watchersPerConnectionMax \(from flag --watchers-per-connection-max\) must be an integer/,
    );
    expect(configError(['--id', 'n1', '--grpc-keepalive-time-ms', '10'])).toMatch(
      /grpcKeepaliveTimeMs must be an integer in \[100, /,
    );
    expect(configError(['--id', 'n1', '--grpc-keepalive-timeout-ms', '0'])).toMatch(/grpcKeepaliveTimeoutMs/);
    expect(configError(['--id', 'n1', '--snapshot-streams-max', '0'])).toMatch(
      /snapshotStreamsMax must be an integer in \[1, 64\]/,
    );
    expect(configError(['--id', 'n1', '--snapshot-buffer-bytes-max', '1024'])).toMatch(
      /snapshotBufferBytesMax must be an integer in \[1073741824, /,
    );
  });

  it('reads the replication head check from --replication-head-check-ms, the environment or the file, 1 s by default', () => {
    expect(loadServerConfig(['--id', 'n1'], {}).replicationHeadCheckMs).toBe(1_000);
    expect(
      loadServerConfig(['--id', 'n1', '--replication-head-check-ms', '250'], {}).replicationHeadCheckMs,
    ).toBe(250);
    expect(
      loadServerConfig(['--id', 'n1'], { OMNIRELAY_REPLICATION_HEAD_CHECK_MS: String(HEAD_CHECK_MS_MAX) })
        .replicationHeadCheckMs,
    ).toBe(HEAD_CHECK_MS_MAX);
    const dir = configDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ id: 'n1', replicationHeadCheckMs: HEAD_CHECK_MS_MIN }));
    expect(loadServerConfig(['--config', file], {}).replicationHeadCheckMs).toBe(HEAD_CHECK_MS_MIN);
  });

  it('refuses a replication head check out of range or not a number, naming it and its bounds', () => {
    expect(configError(['--id', 'n1', '--replication-head-check-ms', String(HEAD_CHECK_MS_MIN - 1)])).toBe(
      `replicationHeadCheckMs must be an integer in [${HEAD_CHECK_MS_MIN}, ${HEAD_CHECK_MS_MAX}], got ${HEAD_CHECK_MS_MIN - 1}`,
    );
    expect(
      configError(['--id', 'n1'], { OMNIRELAY_REPLICATION_HEAD_CHECK_MS: String(HEAD_CHECK_MS_MAX + 1) }),
    ).toMatch(/^replicationHeadCheckMs must be an integer in \[/);
    expect(configError(['--id', 'n1', '--replication-head-check-ms', '1s'])).toMatch(
      /replicationHeadCheckMs \(from flag --replication-head-check-ms\) must be an integer, got "1s"/,
    );
  });

  it('reads the renewal backlog that closes a leader to new leases from --admission-renewal-lag-ms, the environment or the file: 1 s by default, 0 for never', () => {
    expect(loadServerConfig(['--id', 'n1'], {}).admissionRenewalLagMs).toBe(1_000);
    expect(
      loadServerConfig(['--id', 'n1', '--admission-renewal-lag-ms', '0'], {}).admissionRenewalLagMs,
    ).toBe(0);
    expect(
      loadServerConfig(['--id', 'n1'], {
        OMNIRELAY_ADMISSION_RENEWAL_LAG_MS: String(ADMISSION_RENEWAL_LAG_MS_MAX),
      }).admissionRenewalLagMs,
    ).toBe(ADMISSION_RENEWAL_LAG_MS_MAX);
    const dir = configDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ id: 'n1', admissionRenewalLagMs: ADMISSION_RENEWAL_LAG_MS_MIN }));
    expect(loadServerConfig(['--config', file], {}).admissionRenewalLagMs).toBe(ADMISSION_RENEWAL_LAG_MS_MIN);
  });

  it('refuses a renewal backlog bound that is neither 0 nor in range, saying so', () => {
    const bounds = `must be 0 (never refuse) or an integer in [${ADMISSION_RENEWAL_LAG_MS_MIN}, ${ADMISSION_RENEWAL_LAG_MS_MAX}]`;
    expect(
      configError(['--id', 'n1', '--admission-renewal-lag-ms', String(ADMISSION_RENEWAL_LAG_MS_MIN - 1)]),
    ).toBe(`admissionRenewalLagMs ${bounds}, got ${ADMISSION_RENEWAL_LAG_MS_MIN - 1}`);
    expect(
      configError(['--id', 'n1'], {
        OMNIRELAY_ADMISSION_RENEWAL_LAG_MS: String(ADMISSION_RENEWAL_LAG_MS_MAX + 1),
      }),
    ).toBe(`admissionRenewalLagMs ${bounds}, got ${ADMISSION_RENEWAL_LAG_MS_MAX + 1}`);
    expect(configError(['--id', 'n1', '--admission-renewal-lag-ms', '-5'])).toMatch(
      /^admissionRenewalLagMs /,
    );
    expect(configError(['--id', 'n1', '--admission-renewal-lag-ms', '1s'])).toMatch(
      /admissionRenewalLagMs \(from flag --admission-renewal-lag-ms\) must be an integer, got "1s"/,
    );
  });

  it('refuses a plaintext port beyond loopback unless --insecure is given, naming the port and the flags', () => {
    const wide = ['--id', 'n1', ...peers, '--peer-address', '0.0.0.0:7101'];
    expect(configError(wide)).toMatch(
      /refusing to serve the peer port on 0\.0\.0\.0:7101 without TLS: pass --peer-tls-ca, --peer-tls-cert and --peer-tls-key .*--insecure true/,
    );
    expect(loadServerConfig([...wide, '--insecure', 'true'], {}).insecure).toBe(true);
    expect(loadServerConfig(wide, { OMNIRELAY_INSECURE: 'true' }).peerAddress).toBe('0.0.0.0:7101');
    expect(configError(['--id', 'n1', ...peers, '--grpc-address', '10.1.2.3:7301'])).toMatch(
      /the client gRPC port on 10\.1\.2\.3:7301 without TLS and client authentication: pass --client-tls-cert and --client-tls-key, with --client-tls-ca or --auth-tokens-file/,
    );
    for (const host of ['localhost', '127.0.0.2']) {
      expect(
        loadServerConfig(['--id', 'n1', ...peers, '--client-address', `${host}:7201`], {}).insecure,
      ).toBe(false);
    }
  });
});
