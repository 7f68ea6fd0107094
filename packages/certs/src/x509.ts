/**
 * The X.509 library, ready to use: @peculiar/x509 resolves its algorithms through tsyringe, which
 * refuses to load without a `Reflect.getMetadata` polyfill, so reflect-metadata is loaded first
 * (the order of these imports matters). Its crypto provider is Node's WebCrypto, so keys and
 * signatures come from OpenSSL, and no ASN.1 is written by hand here.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509, webcrypto };
