/**
 * EtcdCluster runs etcd members on 127.0.0.1 (distinct client and peer ports, one data folder each
 * under a fresh temporary folder) and starts and stops every one of them by PID. With `tls`, both
 * ports speak TLS and require a certificate from the trusted CA (etcd's --client-cert-auth and
 * --peer-client-cert-auth).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@omnirelay/server';
import { hasExited, stopChild, track } from './children';
import type { TlsFiles } from './tls-files';

/** ETCD_HEARTBEAT_INTERVAL_MS is given explicitly (etcd's default, 100 ms) so the comparison states it. */
export const ETCD_HEARTBEAT_INTERVAL_MS = 100;
/** ETCD_ELECTION_TIMEOUT_MS is given explicitly (etcd's default, 1000 ms). */
export const ETCD_ELECTION_TIMEOUT_MS = 1000;

/** EtcdMember is one etcd process of the cluster. */
export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  process: ChildProcess | undefined;
}

/** EtcdClusterOptions says where the binary is and where the members keep their data. */
export interface EtcdClusterOptions {
  readonly binary: string;
  readonly size: number;
  readonly dataRoot: string;
  /** token makes each cluster distinct (--initial-cluster-token). */
  readonly token: string;
  /**
   * tls, when set, gives member `name` its certificate, key and trusted CA: https client and peer
   * URLs, --client-cert-auth and --peer-client-cert-auth. The certificate serves both ports, so it
   * needs serverAuth and clientAuth usages (etcd's peers dial with it, and so does its own gRPC
   * gateway) and the IP SAN 127.0.0.1.
   */
  readonly tls?: (name: string) => TlsFiles;
}

/** etcdTlsArgs are member flags for `files`: TLS with required client certificates on both ports. */
export function etcdTlsArgs(files: TlsFiles): string[] {
  return [
    '--cert-file',
    files.certFile,
    '--key-file',
    files.keyFile,
    '--client-cert-auth',
    '--trusted-ca-file',
    files.caFile,
    '--peer-cert-file',
    files.certFile,
    '--peer-key-file',
    files.keyFile,
    '--peer-client-cert-auth',
    '--peer-trusted-ca-file',
    files.caFile,
  ];
}

/** EtcdCluster starts N etcd members on 127.0.0.1; every process is stopped by PID. */
export class EtcdCluster {
  /** members are e1..eN. */
  readonly members: EtcdMember[] = [];

  private constructor(private readonly options: EtcdClusterOptions) {}

  /** create allocates ports and folders without starting anything. */
  static async create(options: EtcdClusterOptions): Promise<EtcdCluster> {
    if (!Number.isInteger(options.size) || options.size < 1 || options.size > 7) {
      throw new Error(`etcd cluster size must be 1 to 7, got ${options.size}`);
    }
    const cluster = new EtcdCluster(options);
    mkdirSync(join(options.dataRoot, 'logs'), { recursive: true });
    const scheme = options.tls === undefined ? 'http' : 'https';
    for (let i = 1; i <= options.size; i++) {
      const name = `e${i}`;
      cluster.members.push({
        name,
        clientUrl: `${scheme}://127.0.0.1:${await freePort()}`,
        peerUrl: `${scheme}://127.0.0.1:${await freePort()}`,
        dataDir: join(options.dataRoot, name),
        logFile: join(options.dataRoot, 'logs', `${name}.log`),
        process: undefined,
      });
    }
    return cluster;
  }

  /** member returns the member called `name`. */
  member(name: string): EtcdMember {
    const m = this.members.find((x) => x.name === name);
    if (m === undefined) throw new Error(`no etcd member ${name}`);
    return m;
  }

  /** startAll starts every member. */
  startAll(): void {
    for (const m of this.members) this.start(m.name);
  }

  /** start starts one member; on a restart its data folder already exists and etcd ignores the --initial-* flags. */
  start(name: string): void {
    const m = this.member(name);
    if (m.process !== undefined && !hasExited(m.process)) {
      throw new Error(`etcd ${name} is already running (pid ${String(m.process.pid)})`);
    }
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const args = [
      '--name',
      m.name,
      '--data-dir',
      m.dataDir,
      '--listen-client-urls',
      m.clientUrl,
      '--advertise-client-urls',
      m.clientUrl,
      '--listen-peer-urls',
      m.peerUrl,
      '--initial-advertise-peer-urls',
      m.peerUrl,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      this.options.token,
      '--heartbeat-interval',
      String(ETCD_HEARTBEAT_INTERVAL_MS),
      '--election-timeout',
      String(ETCD_ELECTION_TIMEOUT_MS),
      '--logger',
      'zap',
      '--log-level',
      'warn',
      ...(this.options.tls === undefined ? [] : etcdTlsArgs(this.options.tls(m.name))),
    ];
    const log = openSync(m.logFile, 'a');
    const env: NodeJS.ProcessEnv = { ...process.env };
    // etcd 3.4 refuses to start on arm64 unless told that the architecture is "unsupported".
    if (process.arch === 'arm64') env['ETCD_UNSUPPORTED_ARCH'] = 'arm64';
    const child = spawn(this.options.binary, args, { stdio: ['ignore', log, log], env });
    closeSync(log);
    track(child);
    m.process = child;
    child.once('exit', () => {
      if (m.process === child) m.process = undefined;
    });
  }

  /** kill sends SIGKILL to one member by PID and waits for it to exit. */
  async kill(name: string): Promise<void> {
    const m = this.member(name);
    const child = m.process;
    if (child === undefined) return;
    m.process = undefined;
    await stopChild(child, 'SIGKILL');
  }

  /** stopAll sends SIGTERM to every member by PID, then SIGKILL to any still running after the bound. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        const child = m.process;
        if (child === undefined) return;
        m.process = undefined;
        await stopChild(child, 'SIGTERM');
      }),
    );
  }

  /** pids lists the PIDs of the running members. */
  pids(): number[] {
    return this.members.flatMap((m) =>
      m.process?.pid !== undefined && !hasExited(m.process) ? [m.process.pid] : [],
    );
  }
}
