/**
 * Issuing the certificates of a cluster: a CA, node certificates (a peer and a server of the
 * cluster) and client certificates (an identity with roles and scope prefixes). The names a
 * certificate carries follow identity.ts. Keys are ECDSA P-256 (keys.ts), files are PEM, keys
 * are mode 0600 and certificates 0644 (cert-files.ts); nothing is overwritten unless asked.
 */
import { join, resolve } from 'node:path';
import type { webcrypto } from 'node:crypto';
import { CA_CERT_FILE, CA_KEY_FILE, loadCa } from './ca';
import type { LoadedCa } from './ca';
import { CertError } from './cert-error';
import { CERT_FILE_MODE, KEY_FILE_MODE, ensureOutDir, refuseExisting, writeFileAtomic } from './cert-files';
import {
  checkCaName,
  checkClusterId,
  checkDir,
  checkDnsNames,
  checkIps,
  checkName,
  checkRoles,
  checkScopePrefixes,
} from './cert-inputs';
import { identityUri, roleUri, scopePrefixUri } from './identity';
import { SIGNING_ALGORITHM, generateKeyPair, privateKeyPem, randomSerialNumber } from './keys';
import type { Validity, ValidityOptions } from './validity';
import { CA_DAYS_DEFAULT, LEAF_DAYS_DEFAULT, validityWindow } from './validity';
import { x509 } from './x509';

/** ORGANIZATION is the O attribute of every subject the issuer writes. */
export const ORGANIZATION = 'OmniRelay';

/** NODE_DNS_DEFAULT are a node certificate's DNS SANs when none are given. */
export const NODE_DNS_DEFAULT: readonly string[] = ['localhost'];

/** NODE_IPS_DEFAULT are a node certificate's IP SANs when none are given. */
export const NODE_IPS_DEFAULT: readonly string[] = ['127.0.0.1'];

/** IssuedFiles is what one issue call wrote: the PEM files (absolute paths) and the certificate's facts. */
export interface IssuedFiles {
  readonly certPath: string;
  readonly keyPath: string;
  /** serialNumber is the certificate's serial number in lowercase hex. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** IssueCommonOptions are the options of every issue call. */
export interface IssueCommonOptions extends ValidityOptions {
  /** outDir is the folder the files go to; it is created (mode 0700) when missing. */
  readonly outDir: string;
  /** clusterId is the cluster's id, as the nodes are configured with it. */
  readonly clusterId: string;
  /** overwrite replaces existing files (the CLI's --force); without it an existing file is ALREADY_EXISTS. */
  readonly overwrite?: boolean | undefined;
}

/** IssueCaOptions are issueCa's options; `name` is the CA's common name. */
export interface IssueCaOptions extends IssueCommonOptions {
  readonly name?: string | undefined;
}

/** IssueNodeOptions are issueNode's options; `caDir` holds the CA's ca.crt and ca.key. */
export interface IssueNodeOptions extends IssueCommonOptions {
  readonly caDir: string;
  /** id is the member id the certificate proves. */
  readonly id: string;
  /** dns are the DNS SANs (default NODE_DNS_DEFAULT). */
  readonly dns?: readonly string[] | undefined;
  /** ips are the IP SANs (default NODE_IPS_DEFAULT). */
  readonly ips?: readonly string[] | undefined;
}

/** IssueClientOptions are issueClient's options; `caDir` holds the CA's ca.crt and ca.key. */
export interface IssueClientOptions extends IssueCommonOptions {
  readonly caDir: string;
  /** name is the client's identity. */
  readonly name: string;
  /** roles are granted roles, from CLIENT_ROLES. */
  readonly roles?: readonly string[] | undefined;
  /** scopePrefixes are the scope prefixes the client may campaign for. */
  readonly scopePrefixes?: readonly string[] | undefined;
}

/**
 * issueCa makes a new CA in `outDir`: `ca.key` (a fresh ECDSA P-256 key, mode 0600) and `ca.crt`
 * (self-signed; basicConstraints cA=true with path length 0, keyUsage keyCertSign and cRLSign;
 * subject CN=<name, default "OmniRelay CA <clusterId>">, O=OmniRelay, OU=<clusterId>; valid
 * CA_DAYS_DEFAULT days unless told otherwise).
 */
export async function issueCa(options: IssueCaOptions): Promise<IssuedFiles> {
  const clusterId = checkClusterId(options.clusterId);
  const name = checkCaName(options.name ?? `OmniRelay CA ${clusterId}`);
  const outDir = resolve(checkDir(options.outDir, '--out'));
  const validity = validityWindow(options, Date.now(), CA_DAYS_DEFAULT);
  const paths = filePaths(outDir, CA_CERT_FILE, CA_KEY_FILE);
  const overwrite = options.overwrite === true;
  await ensureOutDir(outDir);
  await refuseExisting([paths.keyPath, paths.certPath], overwrite);

  const keys = await generateKeyPair();
  const serialNumber = randomSerialNumber();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name: [{ CN: [name] }, { O: [ORGANIZATION] }, { OU: [clusterId] }],
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writePair(paths, certificate, keys.privateKey, overwrite);
  return { ...paths, serialNumber, notBefore: validity.notBefore, notAfter: validity.notAfter };
}

/**
 * issueNode issues the certificate of node `id`, signed by the CA in `caDir`, to `<id>.crt` and
 * `<id>.key` in `outDir`. It serves both as a TLS server and as a peer's client: extended key
 * usage serverAuth and clientAuth, keyUsage digitalSignature. Its SANs are the URI
 * `spiffe://<clusterId>/node/<id>` (the member id it proves), the DNS names `dns` (default
 * localhost) and the IP addresses `ips` (default 127.0.0.1).
 */
export async function issueNode(options: IssueNodeOptions): Promise<IssuedFiles> {
  const clusterId = checkClusterId(options.clusterId);
  const id = checkName(options.id, 'node id');
  const dns = checkDnsNames(options.dns ?? NODE_DNS_DEFAULT);
  const ips = checkIps(options.ips ?? NODE_IPS_DEFAULT);
  return issueLeaf(options, id, {
    subject: [{ CN: [id] }, { O: [ORGANIZATION] }, { OU: [clusterId] }],
    names: [
      { type: 'url', value: identityUri('node', clusterId, id) },
      ...dns.map((value) => ({ type: 'dns' as const, value })),
      ...ips.map((value) => ({ type: 'ip' as const, value })),
    ],
    extendedKeyUsages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  });
}

/**
 * issueClient issues the certificate of client `name`, signed by the CA in `caDir`, to
 * `<name>.crt` and `<name>.key` in `outDir`. It can only authenticate a client (extended key
 * usage clientAuth). Its SANs are the URI `spiffe://<clusterId>/client/<name>`, then one URI
 * `omnirelay:role:<role>` per role and one `omnirelay:scope:<prefix>` per scope prefix.
 */
export async function issueClient(options: IssueClientOptions): Promise<IssuedFiles> {
  const clusterId = checkClusterId(options.clusterId);
  const name = checkName(options.name, 'client name');
  const roles = checkRoles(options.roles ?? []);
  const scopePrefixes = checkScopePrefixes(options.scopePrefixes ?? []);
  return issueLeaf(options, name, {
    subject: [{ CN: [name] }, { O: [ORGANIZATION] }, { OU: [clusterId] }],
    names: [
      { type: 'url', value: identityUri('client', clusterId, name) },
      ...roles.map((role) => ({ type: 'url' as const, value: roleUri(role) })),
      ...scopePrefixes.map((prefix) => ({ type: 'url' as const, value: scopePrefixUri(prefix) })),
    ],
    extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
  });
}

/** LeafProfile is what sets a node certificate apart from a client certificate. */
interface LeafProfile {
  readonly subject: x509.JsonName;
  readonly names: x509.JsonGeneralNames;
  readonly extendedKeyUsages: readonly x509.ExtendedKeyUsage[];
}

/**
 * issueLeaf issues an end-entity certificate for `fileBase` with `profile`, after checking the
 * folders, the validity window and the CA. A window left to its default ends no later than the
 * CA; a window the caller chose that outlives the CA is refused, since the certificate would
 * stop verifying before its notAfter.
 */
async function issueLeaf(
  options: IssueCommonOptions & { readonly caDir: string },
  fileBase: string,
  profile: LeafProfile,
): Promise<IssuedFiles> {
  const outDir = resolve(checkDir(options.outDir, '--out'));
  const caDir = resolve(checkDir(options.caDir, '--ca'));
  const requested = validityWindow(options, Date.now(), LEAF_DAYS_DEFAULT);
  const paths = filePaths(outDir, `${fileBase}.crt`, `${fileBase}.key`);
  const overwrite = options.overwrite === true;
  if (isCaFile(paths.certPath, caDir) || isCaFile(paths.keyPath, caDir)) {
    throw new CertError(
      'INVALID_ARGUMENT',
      `${fileBase} would overwrite the CA's files in ${caDir}`,
      'choose another name or --out',
    );
  }
  const ca = await loadCa(caDir);
  const validity = withinCa(requested, ca);
  await ensureOutDir(outDir);
  await refuseExisting([paths.keyPath, paths.certPath], overwrite);

  const keys = await generateKeyPair();
  const serialNumber = randomSerialNumber();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: profile.subject,
    issuer: ca.certificate.subjectName,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([...profile.extendedKeyUsages], false),
      new x509.SubjectAlternativeNameExtension(profile.names, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await authorityKeyIdentifier(ca),
    ],
  });
  await writePair(paths, certificate, keys.privateKey, overwrite);
  return { ...paths, serialNumber, notBefore: validity.notBefore, notAfter: validity.notAfter };
}

/** withinCa fits a leaf's window to its CA's: see issueLeaf. */
function withinCa(requested: Validity, ca: LoadedCa): Validity {
  const caEnd = ca.certificate.notAfter;
  if (requested.notAfter.getTime() <= caEnd.getTime()) return requested;
  if (requested.defaulted && requested.notBefore.getTime() < caEnd.getTime()) {
    return { ...requested, notAfter: caEnd };
  }
  throw new CertError(
    'INVALID_ARGUMENT',
    requested.defaulted
      ? `the CA in ${ca.certPath} expired at ${caEnd.toISOString()}`
      : `the certificate would be valid until ${requested.notAfter.toISOString()}, after its CA (${ca.certPath}) expires at ${caEnd.toISOString()}`,
    requested.defaulted ? 'issue a new CA' : 'ask for fewer --days, or renew the CA first',
  );
}

/**
 * authorityKeyIdentifier names the CA's key the way the CA names it (its subject key identifier),
 * else by the SHA-1 hash of its public key.
 */
async function authorityKeyIdentifier(ca: LoadedCa): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski === null
    ? x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey)
    : new x509.AuthorityKeyIdentifierExtension(ski.keyId);
}

/** writePair writes the key (mode 0600) first, then the certificate (0644), both as PEM. */
async function writePair(
  paths: { readonly certPath: string; readonly keyPath: string },
  certificate: x509.X509Certificate,
  privateKey: webcrypto.CryptoKey,
  overwrite: boolean,
): Promise<void> {
  await writeFileAtomic(paths.keyPath, await privateKeyPem(privateKey), KEY_FILE_MODE, overwrite);
  await writeFileAtomic(paths.certPath, `${certificate.toString('pem')}\n`, CERT_FILE_MODE, overwrite);
}

function filePaths(outDir: string, certFile: string, keyFile: string): { certPath: string; keyPath: string } {
  return { certPath: join(outDir, certFile), keyPath: join(outDir, keyFile) };
}

function isCaFile(path: string, caDir: string): boolean {
  return path === join(caDir, CA_CERT_FILE) || path === join(caDir, CA_KEY_FILE);
}
