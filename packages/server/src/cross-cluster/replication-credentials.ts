import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { connect, isIP } from 'node:net';
import * as tls from 'node:tls';
import { AUTHORIZATION_HEADER } from '../auth/access-control';
import { enforceTlsVersionMin } from '../tls/client-tls';

/**
 * ReplicationCredentialFiles names what the replication channel presents to the other clusters'
 * public gRPC ports (DISC-012): a CA bundle that signs their client-port certificates (TLS; absent
 * with a certificate: the system roots), a client certificate and key (mutual TLS; its identity
 * needs mesh.read there, which covers Watch, ListLeaders, Status and Clusters), and a file holding
 * a bearer token (the same rule). No file at all: plaintext without credentials.
 */
export interface ReplicationCredentialFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly tokenFile?: string;
}

/** ReplicationChannel is what one connection attempt dials with: channel credentials and call metadata. */
export interface ReplicationChannel {
  readonly credentials: grpc.ChannelCredentials;
  readonly metadata: grpc.Metadata;
}

/** TOKEN_BYTES_MAX bounds what is read of --replication-token-file (a token is one short line). */
export const TOKEN_BYTES_MAX = 4096;

/**
 * replicationChannel reads `files` now and returns the credentials of one connection attempt.
 * Each attempt reads them again, so a rotated certificate or token is used from the next
 * connection on, without a restart (the convention of the client-port TLS files). It throws
 * what reading a file throws, or a plain Error for an empty or oversized token file.
 */
export function replicationChannel(files: ReplicationCredentialFiles | undefined): ReplicationChannel {
  const metadata = new grpc.Metadata();
  if (files?.tokenFile !== undefined) {
    const token = readFileSync(files.tokenFile, 'utf8').trim();
    if (token === '' || token.length > TOKEN_BYTES_MAX || /\s/.test(token)) {
      throw new Error(
        `--replication-token-file ${files.tokenFile} must hold one token of 1..${TOKEN_BYTES_MAX} characters without spaces`,
      );
    }
    metadata.set(AUTHORIZATION_HEADER, `Bearer ${token}`);
  }
  if (files === undefined || (files.caFile === undefined && files.certFile === undefined)) {
    return { credentials: grpc.credentials.createInsecure(), metadata };
  }
  enforceTlsVersionMin();
  const credentials = grpc.credentials.createSsl(
    files.caFile === undefined ? null : readFileSync(files.caFile),
    files.keyFile === undefined ? null : readFileSync(files.keyFile),
    files.certFile === undefined ? null : readFileSync(files.certFile),
  );
  return { credentials, metadata };
}

/**
 * replicationFix says what to check when a peer cluster refused the replication channel or its
 * handshake failed, from the gRPC status and details: the warn log of the replicator names it.
 * Undefined when the failure does not look like a credential problem (a peer down, a timeout).
 */
export function replicationFix(code: grpc.status, details: string): string | undefined {
  if (code === grpc.status.UNAUTHENTICATED) {
    return 'the active cluster did not accept the replication credentials: give --replication-tls-cert/--replication-tls-key (a client certificate its --client-tls-ca signed) or --replication-token-file (a token of its --auth-tokens-file)';
  }
  if (code === grpc.status.PERMISSION_DENIED) {
    return 'the active cluster knows the replication identity but refuses it: give that certificate or token the mesh.read role there';
  }
  if (/certificate|ssl|tls|handshake|self.signed|unable to verify/i.test(details)) {
    return 'the TLS handshake with the active cluster failed: check --replication-tls-ca (the CA of its client-port certificates) and --replication-tls-cert/--replication-tls-key (signed by its --client-tls-ca)';
  }
  return undefined;
}

/** TLS_PROBE_MS bounds a TLS probe (connection, handshake, and the wait for a late alert). */
export const TLS_PROBE_MS = 2_000;

/** HTTP2_PREFACE is what an HTTP/2 client sends first: the probe sends it so that the server answers or refuses. */
const HTTP2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/** TLS_ALERT_WAIT_MS is how long a probe waits after its handshake for the server's verdict on the client certificate (TLS 1.3 sends it late). */
const TLS_ALERT_WAIT_MS = 300;

/**
 * tlsRefusal opens one TLS connection to `endpoint` (host:port) with `files`, as the replication
 * channel would, and resolves to why the handshake was refused (the TLS error: an untrusted
 * server certificate, a client certificate the server does not accept), or undefined when it
 * succeeded or the endpoint could not be reached at all (a peer that is down is not a credential
 * problem). Bounded by TLS_PROBE_MS; it never rejects.
 */
export function tlsRefusal(endpoint: string, files: ReplicationCredentialFiles): Promise<string | undefined> {
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(endpoint.slice(colon + 1));
  return new Promise((resolve) => {
    let done = false;
    let socket: tls.TLSSocket | undefined;
    const finish = (reason: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => finish(undefined), TLS_PROBE_MS);
    // Plain TCP first: only an endpoint that accepts connections can refuse a handshake.
    const tcp = connect({ host, port });
    tcp.once('error', () => finish(undefined));
    tcp.once('connect', () => {
      try {
        socket = tls.connect({
          socket: tcp,
          ALPNProtocols: ['h2'],
          ...(isIP(host) === 0 ? { servername: host } : {}),
          ...(files.caFile === undefined ? {} : { ca: readFileSync(files.caFile) }),
          ...(files.certFile === undefined ? {} : { cert: readFileSync(files.certFile) }),
          ...(files.keyFile === undefined ? {} : { key: readFileSync(files.keyFile) }),
        });
      } catch (e) {
        finish(e instanceof Error ? e.message : String(e));
        return;
      }
      socket.once('error', (e: Error) => finish(e.message));
      socket.once('secureConnect', () => {
        // Under TLS 1.3 the server judges the client certificate after the client's handshake
        // ended: a refusal comes as an alert or as the connection closing right away.
        socket?.write(HTTP2_PREFACE);
        socket?.once('end', () =>
          finish(
            'the server closed the connection after the handshake (it did not accept the client certificate)',
          ),
        );
        setTimeout(() => finish(undefined), TLS_ALERT_WAIT_MS);
      });
    });
  });
}
