/**
 * Whether certificates issued earlier can be used again: a launcher that keeps its PKI on disk
 * (`npm start -- --secure`) reissues only what is missing, broken, expiring, or no longer says
 * what it should. Each check answers a reason in words, or undefined when the files are fine.
 */
import { readFile, stat } from 'node:fs/promises';
import type { LoadedCa } from './ca';
import type { IdentityKind } from './identity';
import { identityFromUris } from './identity';
import { KEY_FILE_MODE } from './cert-files';
import { publicKeyDerOf } from './keys';
import { x509 } from './x509';

/** ExpectedLeaf is what a node or client certificate must prove, exactly, to be reused. */
export interface ExpectedLeaf {
  readonly kind: IdentityKind;
  readonly clusterId: string;
  /** name is the node id or the client name. */
  readonly name: string;
  /** roles are compared as a set (none when absent). */
  readonly roles?: readonly string[];
  /** scopePrefixes are compared as a set (none when absent). */
  readonly scopePrefixes?: readonly string[];
}

/**
 * validityProblem says why a certificate valid from `notBefore` to `notAfter` is not fit to use at
 * `nowMs`: not valid yet, or valid for less than `remainingMsMin` more.
 */
export function validityProblem(
  certificate: { readonly notBefore: Date; readonly notAfter: Date },
  nowMs: number,
  remainingMsMin: number,
): string | undefined {
  if (certificate.notBefore.getTime() > nowMs) {
    return `it is not valid before ${certificate.notBefore.toISOString()}`;
  }
  if (certificate.notAfter.getTime() - nowMs < remainingMsMin) {
    return `it expires at ${certificate.notAfter.toISOString()}`;
  }
  return undefined;
}

/**
 * keyModeProblem says why the private key file at `path` is too open: any permission beyond
 * KEY_FILE_MODE (owner read and write). A missing file answers its own reason.
 */
export async function keyModeProblem(path: string): Promise<string | undefined> {
  try {
    const mode = (await stat(path)).mode & 0o777;
    return (mode & ~KEY_FILE_MODE) === 0 ? undefined : `${path} has mode 0${mode.toString(8)}`;
  } catch (e) {
    return `${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
}

/**
 * leafProblem says why the certificate at `paths.certPath` and the key at `paths.keyPath` cannot
 * be reused under `ca` at `nowMs`, or undefined when they can: both files are readable PEM, the
 * key is the certificate's and only its owner can read it, the CA signed the certificate, it is
 * valid for at least `remainingMsMin` more, and its URI SANs name exactly `expected`.
 */
export async function leafProblem(
  paths: { readonly certPath: string; readonly keyPath: string },
  ca: LoadedCa,
  expected: ExpectedLeaf,
  nowMs: number,
  remainingMsMin: number,
): Promise<string | undefined> {
  let certificate: x509.X509Certificate;
  let keyDer: Buffer;
  try {
    certificate = new x509.X509Certificate(await readFile(paths.certPath, 'utf8'));
    keyDer = publicKeyDerOf(await readFile(paths.keyPath, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'it is missing' : `it cannot be read (${code ?? 'not PEM'})`;
  }
  if (!keyDer.equals(Buffer.from(certificate.publicKey.rawData))) {
    return `${paths.keyPath} is not the key of ${paths.certPath}`;
  }
  const openKey = await keyModeProblem(paths.keyPath);
  if (openKey !== undefined) return openKey;
  const signed =
    certificate.issuer === ca.certificate.subject &&
    (await certificate.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }));
  if (!signed) return `it was not signed by the CA in ${ca.certPath}`;
  const expiring = validityProblem(certificate, nowMs, remainingMsMin);
  if (expiring !== undefined) return expiring;
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = (san?.names.items ?? []).filter((n) => n.type === 'url').map((n) => n.value);
  const identity = identityFromUris(uris);
  const matches =
    identity !== undefined &&
    identity.kind === expected.kind &&
    identity.clusterId === expected.clusterId &&
    identity.name === expected.name &&
    sameSet(identity.roles, expected.roles ?? []) &&
    sameSet(identity.scopePrefixes, expected.scopePrefixes ?? []);
  if (!matches) return `its names (${uris.join(', ')}) are not the ones asked for`;
  return undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
}
