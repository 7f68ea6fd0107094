import { isIP } from 'node:net';
import { CertError } from './cert-error';
import type { ClientRole } from './identity';
import { CLIENT_ROLES } from './identity';

/** NAME_LENGTH_MAX bounds a node id or client name (a member id's limit). */
export const NAME_LENGTH_MAX = 63;

/** CLUSTER_ID_LENGTH_MAX bounds a cluster id (the peer transport's limit). */
export const CLUSTER_ID_LENGTH_MAX = 128;

/** CA_NAME_LENGTH_MAX bounds the CA's common name (RFC 5280's upper bound for a CN). */
export const CA_NAME_LENGTH_MAX = 64;

/** DNS_NAME_LENGTH_MAX bounds one DNS SAN (a DNS name's limit). */
export const DNS_NAME_LENGTH_MAX = 253;

/** SAN_ENTRIES_MAX bounds the DNS names, and separately the IP addresses, of one node certificate. */
export const SAN_ENTRIES_MAX = 32;

/** SCOPE_PREFIX_LENGTH_MAX bounds one scope prefix (a scope name's limit). */
export const SCOPE_PREFIX_LENGTH_MAX = 253;

/** SCOPE_PREFIXES_MAX bounds the scope prefixes of one client certificate. */
export const SCOPE_PREFIXES_MAX = 64;

const namePattern = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${NAME_LENGTH_MAX - 1}}$`);
const clusterIdPattern = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${CLUSTER_ID_LENGTH_MAX - 1}}$`);
const dnsLabel = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const dnsPattern = new RegExp(`^(?:\\*\\.)?${dnsLabel}(?:\\.${dnsLabel})*$`);
const scopePrefixPattern = /^[a-z0-9][a-z0-9._/-]*$/;

function invalid(message: string, next: string): CertError {
  return new CertError('INVALID_ARGUMENT', message, next);
}

/**
 * checkName checks a node id or client name: 1-63 letters, digits, '.', '_' or '-', starting
 * with a letter or digit (a member id's rule). `what` names the option in the error.
 */
export function checkName(name: string, what: string): string {
  if (!namePattern.test(name)) {
    throw invalid(
      `${what} ${JSON.stringify(name)} is not valid`,
      `use 1-${NAME_LENGTH_MAX} letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

/**
 * checkClusterId checks a cluster id. Beyond "non-empty", it keeps to the member-id charset (up
 * to 128 characters), because the id is the authority of the SPIFFE URI and must not be able to
 * change that URI's shape.
 */
export function checkClusterId(clusterId: string): string {
  if (clusterId === '') {
    throw invalid('the cluster id is empty', "give the nodes' cluster id (--cluster-id)");
  }
  if (!clusterIdPattern.test(clusterId)) {
    throw invalid(
      `cluster id ${JSON.stringify(clusterId)} cannot be put in a certificate`,
      `use 1-${CLUSTER_ID_LENGTH_MAX} letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return clusterId;
}

/** checkCaName checks the CA's common name: 1-64 printable ASCII characters, not only spaces. */
export function checkCaName(name: string): string {
  if (name.trim() === '' || name.length > CA_NAME_LENGTH_MAX || !/^[\x20-\x7e]+$/.test(name)) {
    throw invalid(
      `CA name ${JSON.stringify(name)} is not valid`,
      `use 1-${CA_NAME_LENGTH_MAX} printable ASCII characters`,
    );
  }
  return name;
}

/** checkDnsNames checks DNS SANs (a leading `*.` wildcard is allowed) and drops duplicates. */
export function checkDnsNames(names: readonly string[]): string[] {
  checkCount(names.length, SAN_ENTRIES_MAX, 'DNS names');
  for (const name of names) {
    if (name.length > DNS_NAME_LENGTH_MAX || !dnsPattern.test(name)) {
      throw invalid(
        `DNS name ${JSON.stringify(name)} is not a host name`,
        'give names such as node-1.omnirelay.svc or localhost',
      );
    }
  }
  return [...new Set(names)];
}

/** checkIps checks IP SANs (IPv4 or IPv6 literals) and drops duplicates. */
export function checkIps(ips: readonly string[]): string[] {
  checkCount(ips.length, SAN_ENTRIES_MAX, 'IP addresses');
  for (const ip of ips) {
    if (isIP(ip) === 0) {
      throw invalid(
        `IP address ${JSON.stringify(ip)} is not valid`,
        'give addresses such as 127.0.0.1 or ::1',
      );
    }
  }
  return [...new Set(ips)];
}

/** checkRoles checks client roles against CLIENT_ROLES (a typo must not mint a useless credential). */
export function checkRoles(roles: readonly string[]): ClientRole[] {
  for (const role of roles) {
    if (!(CLIENT_ROLES as readonly string[]).includes(role)) {
      throw invalid(`role ${JSON.stringify(role)} is not a role`, `use one of: ${CLIENT_ROLES.join(', ')}`);
    }
  }
  return [...new Set(roles as readonly ClientRole[])];
}

/** SCOPE_PREFIX_ANY grants every scope (an operator's or a test harness's identity). */
export const SCOPE_PREFIX_ANY = '*';

/**
 * checkScopePrefixes checks the scope prefixes a client may campaign for: each 1-253 characters
 * from a scope name's charset, starting with a letter or digit, or SCOPE_PREFIX_ANY alone.
 */
export function checkScopePrefixes(prefixes: readonly string[]): string[] {
  checkCount(prefixes.length, SCOPE_PREFIXES_MAX, 'scope prefixes');
  for (const prefix of prefixes) {
    if (prefix === SCOPE_PREFIX_ANY) continue;
    if (prefix.length > SCOPE_PREFIX_LENGTH_MAX || !scopePrefixPattern.test(prefix)) {
      throw invalid(
        `scope prefix ${JSON.stringify(prefix)} is not valid`,
        `use 1-${SCOPE_PREFIX_LENGTH_MAX} characters from [a-z0-9._/-], starting with a letter or digit, e.g. shard/orders/, or ${SCOPE_PREFIX_ANY} for every scope`,
      );
    }
  }
  return [...new Set(prefixes)];
}

/** checkDir checks a folder option is given. */
export function checkDir(dir: string, what: string): string {
  if (dir.trim() === '') throw invalid(`${what} is empty`, `give the folder for ${what}`);
  return dir;
}

function checkCount(count: number, max: number, what: string): void {
  if (count > max) throw invalid(`${count} ${what} given (at most ${max})`, `give at most ${max} ${what}`);
}
