import { createSecureContext } from 'node:tls';
import type { SecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

type CaUpdate = grpc.experimental.CaCertificateUpdate;
type IdentityUpdate = grpc.experimental.IdentityCertificateUpdate;

/**
 * ProviderChannelCredentials are TLS channel credentials fed by a certificate provider (for us
 * LastUsableCertificates over the file watcher), as grpc-js's
 * createCertificateProviderChannelCredentials, with one difference: the TLS secure context is
 * built once per certificate reading that changed, not twice per connection attempt.
 *
 * Why: grpc-js's version builds a fresh context (parsing the CA bundle, certificate and key, about
 * 2.5 ms of CPU on a busy 2-core machine) once to learn it is ready and once more to connect, for
 * every attempt, including each backoff retry against a peer that died. After a leader crash every
 * survivor's links and forwarding channel retry it at once, on the failover's critical path.
 *
 * Connections already open keep the context they were made with; a rotated certificate is used
 * from the next connection on. While the provider has passed on nothing, connecting waits; when it
 * passed on a failure (null), connecting fails with the reason. The provider is listened to only
 * while a channel uses these credentials; what it passes on when listened to again replaces the
 * context only when it differs from the reading the context was built from.
 */
export class ProviderChannelCredentials extends grpc.ChannelCredentials {
  private ca: CaUpdate | null | undefined = undefined;
  private identity: IdentityUpdate | null | undefined = undefined;
  /** context is what new connections use: undefined before both readings, null when they are unusable. */
  private context: SecureContext | null | undefined = undefined;
  private problem = '';
  private waiting: Array<() => void> = [];
  private users = 0;
  /** contextsBuilt counts the secure contexts built so far (one per usable change of the readings). */
  contextsBuilt = 0;

  constructor(
    private readonly provider: grpc.experimental.CertificateProvider,
    private readonly verifyOptions: grpc.VerifyOptions,
  ) {
    super();
  }

  override _isSecure(): boolean {
    return true;
  }

  override _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  override _createSecureConnector(
    channelTarget: grpc.experimental.GrpcUri,
    options: grpc.ChannelOptions,
    callCredentials?: grpc.CallCredentials,
  ): grpc.experimental.SecureConnector {
    this.use();
    const calls = callCredentials ?? grpc.CallCredentials.createEmpty();
    let destroyed = false;
    return {
      waitForReady: () => this.ready(),
      connect: (socket) => {
        const context = this.context;
        if (context === undefined || context === null) {
          return Promise.reject(
            new Error(`TLS credentials are not usable: ${this.problem || 'not read yet'}`),
          );
        }
        // grpc-js's own connector for a fixed context does the handshake, server name and ALPN.
        return grpc.credentials
          .createFromSecureContext(context, this.verifyOptions)
          ._createSecureConnector(channelTarget, options, calls)
          .connect(socket);
      },
      getCallCredentials: () => calls,
      destroy: () => {
        if (destroyed) return;
        destroyed = true;
        this.release();
      },
    };
  }

  private ready(): Promise<void> {
    if (this.context !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  // A provider hands each new listener what it holds: the same reading again needs no new context.
  private readonly onCa = (update: CaUpdate | null): void => {
    if (update === this.ca) return;
    this.ca = update;
    this.rebuild();
  };

  private readonly onIdentity = (update: IdentityUpdate | null): void => {
    if (update === this.identity) return;
    this.identity = update;
    this.rebuild();
  };

  private rebuild(): void {
    if (this.ca === undefined || this.identity === undefined) return;
    if (this.ca === null || this.identity === null) {
      this.context = null;
      this.problem =
        this.ca === null ? 'the CA bundle could not be read' : 'the certificate or key could not be read';
    } else {
      try {
        this.context = createSecureContext({
          ca: this.ca.caCertificate,
          cert: this.identity.certificate,
          key: this.identity.privateKey,
        });
        this.contextsBuilt++;
        this.problem = '';
      } catch (e) {
        this.context = null;
        this.problem = e instanceof Error ? e.message : String(e);
      }
    }
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }

  private use(): void {
    this.users++;
    if (this.users > 1) return;
    this.provider.addCaCertificateListener(this.onCa);
    this.provider.addIdentityCertificateListener(this.onIdentity);
  }

  private release(): void {
    this.users--;
    if (this.users > 0) return;
    this.provider.removeCaCertificateListener(this.onCa);
    this.provider.removeIdentityCertificateListener(this.onIdentity);
  }
}
