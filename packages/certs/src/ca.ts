import { join } from 'node:path';
import type { webcrypto } from 'node:crypto';
import { CertError } from './cert-error';
import { readText } from './cert-files';
import { importSigningKey, publicKeyDerOf } from './keys';
import { x509 } from './x509';

/** CA_CERT_FILE is the CA certificate's file name in its folder. */
export const CA_CERT_FILE = 'ca.crt';

/** CA_KEY_FILE is the CA private key's file name in its folder. */
export const CA_KEY_FILE = 'ca.key';

/** LoadedCa is a CA read from its folder: a CA certificate and the private key that matches it. */
export interface LoadedCa {
  readonly certificate: x509.X509Certificate;
  readonly signingKey: webcrypto.CryptoKey;
  readonly certPath: string;
}

/**
 * loadCa reads `ca.crt` and `ca.key` from `caDir` and checks that they make a CA: the certificate
 * says cA=true and keyCertSign, and the key is the ECDSA P-256 key of that certificate. Missing
 * files are NOT_FOUND; anything else wrong is INVALID_CA.
 */
export async function loadCa(caDir: string): Promise<LoadedCa> {
  const certPath = join(caDir, CA_CERT_FILE);
  const keyPath = join(caDir, CA_KEY_FILE);
  const missing = `issue a CA first ('omnirelay cert issue ca --out ${caDir}'), or give --ca <folder of ca.crt and ca.key>`;
  const certPem = await readText(certPath, missing);
  const keyPem = await readText(keyPath, missing);

  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(certPem);
  } catch (e) {
    throw invalidCa(`${certPath} is not a PEM certificate`, e);
  }
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  const usage = certificate.getExtension(x509.KeyUsagesExtension);
  if (constraints?.ca !== true || usage === null || (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw invalidCa(`${certPath} is not a CA certificate (it needs cA=true and keyCertSign)`);
  }

  let signingKey: webcrypto.CryptoKey;
  let keyDer: Buffer;
  try {
    signingKey = await importSigningKey(keyPem);
    keyDer = publicKeyDerOf(keyPem);
  } catch (e) {
    throw invalidCa(`${keyPath} is not an ECDSA P-256 private key in PKCS#8 PEM`, e);
  }
  if (!keyDer.equals(Buffer.from(certificate.publicKey.rawData))) {
    throw invalidCa(`${keyPath} is not the key of ${certPath}`);
  }
  return { certificate, signingKey, certPath };
}

function invalidCa(message: string, cause?: unknown): CertError {
  return new CertError(
    'INVALID_CA',
    message,
    "give --ca the folder that 'omnirelay cert issue ca' wrote",
    cause === undefined ? undefined : { cause },
  );
}
