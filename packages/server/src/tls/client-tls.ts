import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import * as tls from 'node:tls';
import tlsModule from 'node:tls';
import type { PeerCertificate, SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { LastUsableCertificates, ProviderChannelCredentials, certificateIdentity } from '@omnirelay/raft';
import { fileStamp } from './file-stamp';

/**
 * ClientTlsFiles names the PEM files of the client ports' TLS (--client-tls-*): this node's
 * certificate and key, and optionally the CA bundle a client's certificate must chain to. When
 * caFile is given, every client must present a certificate that CA signed (like etcd's
 * --client-cert-auth with --trusted-ca-file); without it, no client certificate is asked for.
 */
export interface ClientTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile?: string;
}

/** CLIENT_TLS_REFRESH_MS is how often the client ports' certificate files are looked at for a change. */
export const CLIENT_TLS_REFRESH_MS = 5000;

/** TLS_VERSION_MIN is the oldest TLS version the client ports accept (and forwarding speaks). */
export const TLS_VERSION_MIN = 'TLSv1.2';

/** TLS_TRANSPORT_GRPC is the negotiated protocol of a gRPC call over TLS (ALPN `h2`). */
export const TLS_TRANSPORT_GRPC = 'h2';

/**
 * enforceTlsVersionMin raises Node's default minimum TLS version to TLS_VERSION_MIN when the
 * process was started with an older one (`--tls-min-v1.0`), so grpc-js's listener, which takes
 * the default, never negotiates TLS 1.0 or 1.1. Node's own default is already TLS 1.2.
 */
export function enforceTlsVersionMin(): void {
  if (tls.DEFAULT_MIN_VERSION === 'TLSv1' || tls.DEFAULT_MIN_VERSION === 'TLSv1.1') {
    // The module object itself (a namespace import is a read-only copy): Node reads it there.
    (tlsModule as { DEFAULT_MIN_VERSION: string }).DEFAULT_MIN_VERSION = TLS_VERSION_MIN;
  }
}

/**
 * grpcServerCredentials are the gRPC port's credentials: a grpc-js file-watching certificate
 * provider re-reads `files` every CLIENT_TLS_REFRESH_MS, so rotated certificates are served to
 * new connections without a restart; with a CA, client certificates are required and verified.
 */
export function grpcServerCredentials(
  files: ClientTlsFiles,
  /** onUnusable hears why a reading of the files was skipped (see LastUsableCertificates). */
  onUnusable: (reason: string) => void = () => undefined,
): grpc.ServerCredentials {
  enforceTlsVersionMin();
  // A reading caught halfway through a rotation (the new key beside the old certificate) would
  // make grpc-js drop every new connection: keep serving the last usable pair instead.
  const provider = new LastUsableCertificates(
    new grpc.experimental.FileWatcherCertificateProvider({
      certificateFile: files.certFile,
      privateKeyFile: files.keyFile,
      ...(files.caFile === undefined ? {} : { caCertificateFile: files.caFile }),
      refreshIntervalMs: CLIENT_TLS_REFRESH_MS,
    }),
    onUnusable,
  );
  // grpc-js's factory takes the identity provider first and the CA provider second (its
  // parameter names say the opposite; the class it builds reads them in this order).
  return grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    files.caFile === undefined ? null : provider,
    files.caFile !== undefined,
  );
}

/**
 * TlsFileWatcher holds the contents of a set of PEM files and re-reads them when one changes
 * (checked every CLIENT_TLS_REFRESH_MS), telling `onChange`: the HTTP port swaps its secure
 * context, the forwarding agent is rebuilt. A file that cannot be read during a rotation keeps
 * the previous contents (a half-written file never takes the port down); `onError` hears why.
 */
export class TlsFileWatcher {
  private stamps: string;
  private current: SecureContextOptions;
  private readonly timer: NodeJS.Timeout;
  private readonly listeners = new Set<(options: SecureContextOptions) => void>();

  constructor(
    private readonly files: {
      readonly certFile?: string;
      readonly keyFile?: string;
      readonly caFile?: string;
    },
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.stamps = this.readStamps();
    this.current = this.read();
    this.timer = setInterval(() => this.check(), CLIENT_TLS_REFRESH_MS);
    this.timer.unref();
  }

  /** options are the current PEM contents, as secure context options (TLS_VERSION_MIN included). */
  get options(): SecureContextOptions {
    return this.current;
  }

  /** onChange registers `listener` for every later change of the files. */
  onChange(listener: (options: SecureContextOptions) => void): void {
    this.listeners.add(listener);
  }

  /** close stops watching. */
  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  /** check re-reads the files if any of them changed since the last read. */
  check(): void {
    let stamps: string;
    let next: SecureContextOptions;
    try {
      stamps = this.readStamps();
      if (stamps === this.stamps) return;
      next = this.read();
      tls.createSecureContext(next);
    } catch (e) {
      this.onError(e);
      return;
    }
    this.stamps = stamps;
    this.current = next;
    for (const listener of [...this.listeners]) listener(next);
  }

  private readStamps(): string {
    return [this.files.certFile, this.files.keyFile, this.files.caFile]
      .map((f) => (f === undefined ? '-' : fileStamp(f)))
      .join('|');
  }

  private read(): SecureContextOptions {
    const { certFile, keyFile, caFile } = this.files;
    return {
      minVersion: TLS_VERSION_MIN,
      ...(certFile === undefined ? {} : { cert: readFileSync(certFile) }),
      ...(keyFile === undefined ? {} : { key: readFileSync(keyFile) }),
      ...(caFile === undefined ? {} : { ca: readFileSync(caFile) }),
    };
  }
}

/**
 * ForwardingTls is how a follower reaches the leader's client ports when they speak TLS:
 * it trusts `caFile` (the client CA, else the peer CA; absent, the system's roots), presents
 * this node's own client-port certificate (which the leader requires when it has a client CA),
 * and accepts the leader when its certificate names it (spiffe://<cluster>/node/<id>) or, for a
 * certificate without that name, when it is valid for the host dialled.
 */
export interface ForwardingTlsFiles extends ClientTlsFiles {
  /** clusterId is the cluster whose node names are trusted. */
  readonly clusterId: string;
}

/**
 * forwardingCaFile picks the CA bundle forwarding trusts: the client CA (which signs the nodes'
 * client-port certificates when `omnirelay cert issue` made them all), else the peer CA.
 */
export function forwardingCaFile(client: ClientTlsFiles, peerCaFile: string | undefined): string | undefined {
  return client.caFile ?? peerCaFile;
}

/**
 * leaderIdentityCheck accepts the leader's certificate when it names `leaderId` as a node of
 * `clusterId`, or else when it is valid for `host` (Node's hostname check).
 */
export function leaderIdentityCheck(
  clusterId: string,
  leaderId: string,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const identity = certificateIdentity(cert, clusterId);
    if ('node' in identity) {
      return identity.node === leaderId
        ? undefined
        : new Error(`the leader's client port presented node ${identity.node}, not ${leaderId}`);
    }
    return tls.checkServerIdentity(host, cert);
  };
}

/**
 * grpcForwardingCredentials are the credentials of a follower's channel to `leaderId`'s gRPC
 * port. With a CA file they follow the files as they rotate (grpc-js file watcher); without one,
 * the system's roots verify the leader and no client certificate is offered.
 */
export function grpcForwardingCredentials(
  files: ForwardingTlsFiles,
  leaderId: string,
  onUnusable: (reason: string) => void = () => undefined,
): grpc.ChannelCredentials {
  const verifyOptions = { checkServerIdentity: leaderIdentityCheck(files.clusterId, leaderId) };
  if (files.caFile === undefined) return grpc.credentials.createSsl(null, null, null, verifyOptions);
  const provider = new LastUsableCertificates(
    new grpc.experimental.FileWatcherCertificateProvider({
      caCertificateFile: files.caFile,
      certificateFile: files.certFile,
      privateKeyFile: files.keyFile,
      refreshIntervalMs: CLIENT_TLS_REFRESH_MS,
    }),
    onUnusable,
  );
  // One TLS context per change of the files, not two per connection attempt (see ProviderChannelCredentials).
  return new ProviderChannelCredentials(provider, verifyOptions);
}

/**
 * HttpsForwarding keeps the HTTPS agent a follower forwards HTTP requests to the leader with,
 * rebuilt when the certificate files change (connections already open finish on the old one).
 */
export class HttpsForwarding {
  private current: Agent;
  private readonly watcher: TlsFileWatcher;

  constructor(readonly files: ForwardingTlsFiles) {
    this.watcher = new TlsFileWatcher(files);
    this.current = this.build();
    this.watcher.onChange(() => {
      this.current = this.build();
    });
  }

  /** agent is the agent to forward with now. */
  get agent(): Agent {
    return this.current;
  }

  /** close stops watching the files and closes idle sockets. */
  close(): void {
    this.watcher.close();
    this.current.destroy();
  }

  private build(): Agent {
    return new Agent({ keepAlive: true, maxSockets: 64, ...this.watcher.options });
  }
}
