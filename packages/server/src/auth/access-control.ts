import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import { ServerError } from '../errors/error-table';
import type { ClientIdentity } from '../tls/client-identity';
import { clientIdentityOf, identityOfNames } from '../tls/client-identity';
import { fileStamp } from '../tls/file-stamp';
import type { Principal, Role } from './principal';
import { certificatePrincipal, describeGrants, hasRole, mayCampaign } from './principal';
import type { TokensFile } from './tokens-file';
import { TOKEN_PATTERN } from './tokens-file';

/**
 * Credentials are what a request brings to prove who sent it: the verified certificate of its
 * connection, its Authorization header, and, on a call a member node forwarded, the certificate
 * of the caller it forwards.
 */
export interface Credentials {
  /** certificate is the identity of the connection's verified client certificate, if it presented one. */
  readonly certificate?: ClientIdentity;
  /** certificateDer is that certificate's DER bytes (what a follower forwards), if any. */
  readonly certificateDer?: Buffer;
  /** authorization is the raw Authorization header (`Bearer <token>`), if any. */
  readonly authorization?: string;
  /** forwardedCertificate is the base64 DER of the caller's certificate, sent by a forwarding node. */
  readonly forwardedCertificate?: string;
}

/**
 * credentialsOf gathers a request's credentials from its headers (`header` looks one up, by
 * lowercase name) and its connection's verified client certificate, if any.
 */
export function credentialsOf(
  header: (name: string) => string | undefined,
  certificate: PeerCertificate | undefined,
): Credentials {
  const identity = clientIdentityOf(certificate);
  const authorization = header(AUTHORIZATION_HEADER);
  const forwardedCertificate = header(FORWARDED_CERT_HEADER);
  return {
    ...(identity === undefined ? {} : { certificate: identity, certificateDer: certificate!.raw }),
    ...(authorization === undefined ? {} : { authorization }),
    ...(forwardedCertificate === undefined ? {} : { forwardedCertificate }),
  };
}

/**
 * forwardedCredentials are the headers a follower sends along with a call it forwards, so the
 * leader authenticates the caller itself: the caller's bearer token as it came, and the
 * caller's verified certificate (which the leader accepts only from a member node's connection).
 */
export function forwardedCredentials(credentials: Credentials | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (credentials?.authorization !== undefined) headers[AUTHORIZATION_HEADER] = credentials.authorization;
  if (credentials?.certificateDer !== undefined && credentials.certificate?.kind !== 'node') {
    headers[FORWARDED_CERT_HEADER] = credentials.certificateDer.toString('base64');
  }
  return headers;
}

/** FORWARDED_CERT_HEADER carries the caller's certificate (base64 DER) on a forwarded call. */
export const FORWARDED_CERT_HEADER = 'x-omnirelay-forwarded-cert';

/** AUTHORIZATION_HEADER carries a bearer token (gRPC metadata key and HTTP header, lowercase). */
export const AUTHORIZATION_HEADER = 'authorization';

/**
 * Requirement is what an action needs: nothing (`open`: health probes), any authenticated caller
 * (`authenticated`: a KeepAlive stream, whose leases are checked one by one), a role, or the
 * right to campaign for a scope (a granted scope prefix covering it).
 */
export type Requirement =
  | { readonly kind: 'open' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'role'; readonly role: Role }
  | { readonly kind: 'campaign'; readonly scope: string };

const OPEN: Requirement = { kind: 'open' };

/** CA_RECHECK_MS is how often a forwarded certificate's check looks at the client CA bundle for a change. */
const CA_RECHECK_MS = 1000;

/** VERIFIED_CERTIFICATES_MAX bounds the forwarded certificates remembered as verified (a bundle change forgets them all). */
const VERIFIED_CERTIFICATES_MAX = 1024;

/** DenialReason labels a refusal in logs and metrics. */
export type DenialReason = 'unauthenticated' | 'permission_denied';

/** AccessControlOptions configure AccessControl. */
export interface AccessControlOptions {
  /** enabled turns default deny on (a client CA or a tokens file is configured). */
  readonly enabled: boolean;
  /** clusterId is the cluster a client certificate's identity must name. */
  readonly clusterId: string;
  /** tokens is the tokens file, when bearer tokens are accepted. */
  readonly tokens?: TokensFile;
  /** caFile is the client CA bundle a forwarded caller certificate must have been issued by. */
  readonly caFile?: string;
  readonly logger: Logger;
  /** onDenied hears every refusal (metrics). */
  readonly onDenied?: (action: string, reason: DenialReason) => void;
}

/**
 * AccessControl authenticates the caller of every client-port request and authorizes what it
 * asks for, with default deny when enabled (DESIGN.md "Security"). A bearer token names the
 * caller when one is sent, otherwise the connection's client certificate does; a node
 * certificate never does, so a call a follower forwards is authorized as the caller it forwards
 * (its token, or its certificate, which only a member node may forward) and never as the node.
 * Every refusal is one structured log line (identity, action, scope, reason) and a counter
 * increment, and no secret is ever logged. When disabled, nothing is refused and the caller's
 * certificate, if any, still names it in the audit.
 */
export class AccessControl {
  private caStamp = '';
  private caCheckedAtMs = -Infinity;
  private cas: X509Certificate[] = [];
  /** verified holds forwarded certificates already checked against the current CA bundle, by base64 DER. */
  private verified = new Map<string, { identity: ClientIdentity; fromMs: number; toMs: number }>();

  constructor(private readonly options: AccessControlOptions) {}

  /** enabled tells whether access control refuses anything. */
  get enabled(): boolean {
    return this.options.enabled;
  }

  /**
   * check authenticates `credentials` and authorizes `action` under `requirement`, returning
   * the caller (undefined: anonymous, allowed only with access control off or for an open
   * action). It throws UNAUTHENTICATED or PERMISSION_DENIED, having logged and counted it.
   */
  check(
    credentials: Credentials,
    action: string,
    requirement: Requirement,
    transport: string,
  ): Principal | undefined {
    if (requirement.kind === 'open') return this.identify(credentials, action, transport, false);
    const principal = this.identify(credentials, action, transport, this.options.enabled);
    if (principal !== undefined) this.authorize(principal, action, requirement, transport);
    return principal;
  }

  /** checkAll is `check` for an action with several requirements (a renewal of several scopes), all of which must hold. */
  checkAll(
    credentials: Credentials,
    action: string,
    requirements: readonly Requirement[],
    transport: string,
  ): Principal | undefined {
    const [first = OPEN, ...rest] = requirements;
    const principal = this.check(credentials, action, first, transport);
    if (principal !== undefined) for (const r of rest) this.authorize(principal, action, r, transport);
    return principal;
  }

  /**
   * authorize checks that an authenticated `principal` may do `action` under `requirement`
   * (a KeepAlive stream checks each lease with it), throwing PERMISSION_DENIED when not.
   */
  authorize(principal: Principal, action: string, requirement: Requirement, transport: string): void {
    if (!this.options.enabled) return;
    switch (requirement.kind) {
      case 'open':
      case 'authenticated':
        return;
      case 'role':
        if (hasRole(principal, requirement.role)) return;
        throw this.deny(
          'PERMISSION_DENIED',
          `${principal.name} may not call ${action}: it needs role ${requirement.role} (it has ${describeGrants(principal)})`,
          { identity: principal.name, action, transport, missing: requirement.role },
        );
      case 'campaign':
        if (mayCampaign(principal, requirement.scope)) return;
        throw this.deny(
          'PERMISSION_DENIED',
          `${principal.name} may not call ${action} for scope ${JSON.stringify(requirement.scope)}: none of its scope prefixes covers it (it has ${describeGrants(principal)})`,
          {
            identity: principal.name,
            action,
            scope: requirement.scope,
            transport,
            missing: `scope prefix of ${requirement.scope}`,
          },
        );
    }
  }

  /**
   * identify names the caller: by its bearer token if it sent one, else by the certificate a
   * member node forwarded, else by its connection's certificate. With `required`, a caller it
   * cannot name is refused UNAUTHENTICATED; otherwise it is anonymous (undefined).
   */
  private identify(
    credentials: Credentials,
    action: string,
    transport: string,
    required: boolean,
  ): Principal | undefined {
    // refuse turns an unnamed caller away when credentials are required; else it is anonymous.
    const refuse = (message: string, identity = 'anonymous'): undefined => {
      if (required) throw this.deny('UNAUTHENTICATED', message, { identity, action, transport });
      return undefined;
    };
    const { clusterId, tokens } = this.options;
    if (credentials.authorization !== undefined) {
      const match = /^Bearer ([^\s]+)$/i.exec(credentials.authorization.trim());
      const token = match?.[1];
      if (token === undefined || !TOKEN_PATTERN.test(token)) {
        return refuse(
          `${action} refused: the Authorization header is not "Bearer <token>" with a token of 16-512 characters [A-Za-z0-9._~+/=-]`,
        );
      }
      const entry = tokens?.lookup(token);
      if (entry === undefined) {
        return refuse(
          tokens === undefined
            ? `${action} refused: this node takes no bearer tokens (no --auth-tokens-file); authenticate with a client certificate`
            : `${action} refused: the bearer token is not in this node's tokens file (unknown or revoked); ask an administrator for a token`,
        );
      }
      return entry.principal;
    }
    const connection = credentials.certificate;
    if (credentials.forwardedCertificate !== undefined) {
      if (connection?.kind !== 'node' || connection.clusterId !== clusterId) {
        return refuse(
          `${action} refused: only a member node of cluster ${clusterId} may forward a caller's certificate`,
          connection === undefined ? 'anonymous' : `${connection.kind}/${connection.name}`,
        );
      }
      const forwarded = this.forwardedIdentity(credentials.forwardedCertificate);
      if (typeof forwarded === 'string') {
        return refuse(
          `${action} refused: the caller certificate node ${connection.name} forwarded ${forwarded}`,
        );
      }
      return this.certificateCaller(forwarded, action, refuse);
    }
    if (connection === undefined) {
      return refuse(
        `${action} needs credentials: send a bearer token (Authorization: Bearer <token>) or a client certificate the cluster CA signed`,
      );
    }
    return this.certificateCaller(connection, action, refuse);
  }

  /** certificateCaller is the caller a verified certificate names, or `refuse`'s answer when it names none. */
  private certificateCaller(
    identity: ClientIdentity,
    action: string,
    refuse: (message: string, identity?: string) => undefined,
  ): Principal | undefined {
    const principal = certificatePrincipal(identity, this.options.clusterId);
    if (principal !== undefined) return principal;
    return refuse(
      identity.kind === 'node'
        ? `${action} refused: node ${identity.name}'s certificate authenticates a member, not a client; use a client certificate or a token`
        : `${action} refused: the client certificate names cluster ${identity.clusterId}, not ${this.options.clusterId}`,
      `${identity.kind}/${identity.name}`,
    );
  }

  /**
   * forwardedIdentity reads a caller certificate a member node forwarded, checking, as a TLS
   * handshake would have, that it is in its validity period and was issued by a CA of the
   * client CA bundle. It returns why not when it is not.
   */
  private forwardedIdentity(base64: string): ClientIdentity | string {
    const issuers = this.caCertificates();
    const now = Date.now();
    const known = this.verified.get(base64);
    if (known !== undefined && known.fromMs <= now && now <= known.toMs) return known.identity;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(base64, 'base64'));
    } catch {
      return 'is not a certificate';
    }
    const fromMs = Date.parse(cert.validFrom);
    const toMs = Date.parse(cert.validTo);
    if (fromMs > now) return `is not valid before ${cert.validFrom}`;
    if (toMs < now) return `expired at ${cert.validTo}`;
    if (!issuers.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
      return "was not issued by a CA of this node's client CA bundle";
    }
    const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
    const identity = identityOfNames(cert.subjectAltName, cn);
    if (this.verified.size >= VERIFIED_CERTIFICATES_MAX) this.verified.clear();
    this.verified.set(base64, { identity, fromMs, toMs });
    return identity;
  }

  /**
   * caCertificates are the client CA bundle's certificates, re-read when the file changes (looked
   * at no more than once per CA_RECHECK_MS); a new bundle forgets every certificate verified before.
   */
  private caCertificates(): X509Certificate[] {
    const file = this.options.caFile;
    if (file === undefined) return [];
    const now = Date.now();
    if (now - this.caCheckedAtMs < CA_RECHECK_MS) return this.cas;
    this.caCheckedAtMs = now;
    try {
      const stamp = fileStamp(file);
      if (stamp !== this.caStamp) {
        const pems = readFileSync(file, 'utf8').match(
          /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
        );
        this.cas = (pems ?? []).map((pem) => new X509Certificate(pem));
        this.caStamp = stamp;
        this.verified.clear();
      }
    } catch (e) {
      this.options.logger.warn(
        { err: e, file },
        'client CA bundle could not be re-read for a forwarded caller certificate; keeping the previous one',
      );
    }
    return this.cas;
  }

  private deny(
    code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED',
    message: string,
    fields: Readonly<Record<string, string>>,
  ): ServerError {
    const reason: DenialReason = code === 'UNAUTHENTICATED' ? 'unauthenticated' : 'permission_denied';
    this.options.logger.warn({ ...fields, reason }, `access denied: ${message}`);
    this.options.onDenied?.(fields['action'] ?? '', reason);
    return new ServerError(code, message, {
      identity: fields['identity'] ?? 'anonymous',
      action: fields['action'] ?? '',
    });
  }
}
