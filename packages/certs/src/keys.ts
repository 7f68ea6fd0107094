import { createPublicKey } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import { x509, webcrypto as crypto } from './x509';

/** KEY_ALGORITHM is the algorithm of every key the issuer makes: ECDSA on P-256. */
export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** SIGNING_ALGORITHM is how the CA signs: ECDSA with SHA-256 (ecdsa-with-SHA256). */
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** KeyPair is a WebCrypto key pair. */
export type KeyPair = webcrypto.CryptoKeyPair;

/** generateKeyPair makes a fresh KEY_ALGORITHM key pair whose private key can be exported once. */
export async function generateKeyPair(): Promise<KeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** privateKeyPem is `key` as a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), which Node's TLS reads. */
export async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

/**
 * importSigningKey reads a PKCS#8 PEM private key of KEY_ALGORITHM for signing (not
 * extractable). It throws what WebCrypto throws for anything else.
 */
export async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return crypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
}

/** publicKeyDerOf is the SubjectPublicKeyInfo (DER) of a PEM private key, to match it to a certificate. */
export function publicKeyDerOf(privatePem: string): Buffer {
  return createPublicKey(privatePem).export({ type: 'spki', format: 'der' });
}

/** randomSerialNumber is a fresh positive 128-bit serial number in hex (RFC 5280 allows 20 octets). */
export function randomSerialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // A first octet in 0x01..0x7f keeps the DER INTEGER positive and exactly 16 octets long.
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}
