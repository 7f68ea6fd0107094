import { X509Certificate, createPrivateKey } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';

type CaUpdate = grpc.experimental.CaCertificateUpdate;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityUpdate = grpc.experimental.IdentityCertificateUpdate;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/** PEM_CERTIFICATE matches one PEM certificate block of a bundle. */
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * LastUsableCertificates is a grpc-js certificate provider in front of another (the file
 * watcher): it passes on what the files held only when it is usable — a CA bundle of one or more
 * certificates that parse, a certificate that parses with the key that is its key — and otherwise
 * keeps what it passed on last, reporting why through `onUnusable` (once per reason in a row).
 *
 * Why: grpc-js installs whatever a refresh read. A refresh that falls between the two renames of
 * a rotation (the new key in place, the certificate still the old one), or reads a CA bundle that
 * is being rewritten, makes the peer server drop every new connection and every dial fail until
 * the next refresh. Before anything usable was read (at start) failures pass through unchanged.
 *
 * A reading identical to what was passed on last is not passed on again. The file watcher re-reads
 * every refresh interval whether or not the files changed, and each update it hands grpc-js makes a
 * server build a new TLS secure context (parsing the CA, certificate and key: about 2.5 ms of CPU,
 * twice per refresh, one for the CA and one for the identity) and this class re-check the pair.
 */
export class LastUsableCertificates implements grpc.experimental.CertificateProvider {
  private ca: CaUpdate | null | undefined = undefined;
  private identity: IdentityUpdate | null | undefined = undefined;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private subscribed = false;
  /** reported holds the reason last reported for the CA bundle and for the identity, '' once usable again. */
  private readonly reported = { ca: '', identity: '' };

  constructor(
    private readonly source: grpc.experimental.CertificateProvider,
    private readonly onUnusable: (reason: string) => void,
  ) {}

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    if (this.ca !== undefined) process.nextTick(listener, this.ca);
    this.subscribe();
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.unsubscribeWhenUnused();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    if (this.identity !== undefined) process.nextTick(listener, this.identity);
    this.subscribe();
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.unsubscribeWhenUnused();
  }

  private readonly onCa = (update: CaUpdate | null): void => {
    if (update !== null && this.ca && update.caCertificate.equals(this.ca.caCertificate)) {
      this.reported.ca = '';
      return;
    }
    const problem = update === null ? 'the CA bundle could not be read' : caProblem(update.caCertificate);
    if (problem !== undefined && this.ca !== undefined && this.ca !== null) {
      this.report('ca', `${problem}; keeping the CA bundle read before`);
      return;
    }
    this.ca = problem === undefined ? update : null;
    if (problem === undefined) this.reported.ca = '';
    for (const listener of this.caListeners) listener(this.ca);
  };

  private readonly onIdentity = (update: IdentityUpdate | null): void => {
    if (update !== null && this.identity && sameIdentity(update, this.identity)) {
      this.reported.identity = '';
      return;
    }
    const problem = update === null ? 'the certificate or key could not be read' : identityProblem(update);
    if (problem !== undefined && this.identity !== undefined && this.identity !== null) {
      this.report('identity', `${problem}; keeping the certificate and key read before`);
      return;
    }
    this.identity = problem === undefined ? update : null;
    if (problem === undefined) this.reported.identity = '';
    for (const listener of this.identityListeners) listener(this.identity);
  };

  private report(kind: 'ca' | 'identity', reason: string): void {
    if (reason === this.reported[kind]) return;
    this.reported[kind] = reason;
    this.onUnusable(reason);
  }

  private subscribe(): void {
    if (this.subscribed) return;
    this.subscribed = true;
    this.source.addCaCertificateListener(this.onCa);
    this.source.addIdentityCertificateListener(this.onIdentity);
  }

  private unsubscribeWhenUnused(): void {
    if (!this.subscribed || this.caListeners.size > 0 || this.identityListeners.size > 0) return;
    this.subscribed = false;
    this.source.removeCaCertificateListener(this.onCa);
    this.source.removeIdentityCertificateListener(this.onIdentity);
  }
}

/** sameIdentity says whether two readings hold the same certificate and key, byte for byte. */
function sameIdentity(a: IdentityUpdate, b: IdentityUpdate): boolean {
  return a.certificate.equals(b.certificate) && a.privateKey.equals(b.privateKey);
}

/** caProblem says what makes `pem` unusable as a CA bundle, or undefined when every certificate parses. */
function caProblem(pem: Buffer): string | undefined {
  const blocks = pem.toString('utf8').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return 'the CA bundle holds no PEM certificate';
  try {
    for (const block of blocks) new X509Certificate(block);
    return undefined;
  } catch (e) {
    return `the CA bundle holds a certificate that does not parse (${e instanceof Error ? e.message : String(e)})`;
  }
}

/** identityProblem says what makes a certificate and key unusable together, or undefined. */
function identityProblem(update: IdentityUpdate): string | undefined {
  try {
    const certificate = new X509Certificate(update.certificate);
    return certificate.checkPrivateKey(createPrivateKey(update.privateKey))
      ? undefined
      : `the key is not the key of the certificate (serial ${certificate.serialNumber.toLowerCase()})`;
  } catch (e) {
    return `the certificate or key does not parse (${e instanceof Error ? e.message : String(e)})`;
  }
}
