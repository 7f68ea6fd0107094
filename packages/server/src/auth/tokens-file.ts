import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { fileStamp } from '../tls/file-stamp';
import type { Principal } from './principal';
import { ROLES, SCOPE_PREFIX_ANY, isRole } from './principal';

/** TOKENS_FILE_REFRESH_MS is how often the tokens file is looked at for a change. */
export const TOKENS_FILE_REFRESH_MS = 2000;

/** TOKENS_MAX bounds the entries of one tokens file. */
export const TOKENS_MAX = 10_000;

/** TOKEN_NAME_PATTERN is what a token's identity name may be. */
const TOKEN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** SHA256_PATTERN is a SHA-256 digest in lowercase hex. */
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** SCOPE_PREFIX_PATTERN is what a granted scope prefix may be (a scope name's charset), besides SCOPE_PREFIX_ANY. */
const SCOPE_PREFIX_PATTERN = /^[a-z0-9][a-z0-9._/-]{0,252}$/;

/** TOKEN_PATTERN is what a bearer token's text may be. */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]{16,512}$/;

/** TokenEntry is one identity of the tokens file: its principal and the hash of its token. */
export interface TokenEntry {
  readonly sha256: string;
  readonly principal: Principal;
}

/**
 * parseTokensFile reads the text of a tokens file (YAML; JSON is YAML too):
 *
 *   tokens:
 *     - name: orders              # the identity, recorded as token/orders
 *       sha256: <64 hex>          # SHA-256 of the token; the token itself is never stored
 *       roles: [mesh.read]        # optional: mesh.read, mesh.operate, mesh.admin
 *       scopes: [shard/orders/]   # optional scope prefixes it may campaign for; * for every scope
 *
 * and returns its entries by hash, or throws an Error that names the entry and field at fault.
 */
export function parseTokensFile(text: string): Map<string, TokenEntry> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`it is not YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('it must be a map with a `tokens` list');
  const list = (doc as Record<string, unknown>)['tokens'] ?? [];
  if (!Array.isArray(list)) throw new Error('`tokens` must be a list');
  if (list.length > TOKENS_MAX) throw new Error(`it lists ${list.length} tokens (at most ${TOKENS_MAX})`);
  const byHash = new Map<string, TokenEntry>();
  const names = new Set<string>();
  list.forEach((item: unknown, i) => {
    const where = `tokens[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new Error(`${where} is not a map`);
    const o = item as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => !['name', 'sha256', 'roles', 'scopes'].includes(k));
    if (unknown.length > 0) throw new Error(`${where} has unknown field ${unknown[0]!}`);
    const name = o['name'];
    if (typeof name !== 'string' || !TOKEN_NAME_PATTERN.test(name)) {
      throw new Error(
        `${where}.name must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit`,
      );
    }
    if (names.has(name)) throw new Error(`${where}.name ${name} is listed twice`);
    names.add(name);
    const sha256 = o['sha256'];
    if (typeof sha256 !== 'string' || !SHA256_PATTERN.test(sha256)) {
      throw new Error(`${where} (${name}).sha256 must be 64 lowercase hex digits (the SHA-256 of the token)`);
    }
    if (byHash.has(sha256)) throw new Error(`${where} (${name}) has the same sha256 as another entry`);
    const roles = stringList(o['roles'], `${where} (${name}).roles`);
    for (const role of roles) {
      if (!isRole(role))
        throw new Error(`${where} (${name}) has role ${role}; roles are ${ROLES.join(', ')}`);
    }
    const scopes = stringList(o['scopes'], `${where} (${name}).scopes`);
    for (const prefix of scopes) {
      if (prefix !== SCOPE_PREFIX_ANY && !SCOPE_PREFIX_PATTERN.test(prefix)) {
        throw new Error(
          `${where} (${name}) has scope prefix ${JSON.stringify(prefix)}; use a scope name's characters [a-z0-9._/-], or ${SCOPE_PREFIX_ANY}`,
        );
      }
    }
    byHash.set(sha256, { sha256, principal: { name: `token/${name}`, roles, scopePrefixes: scopes } });
  });
  return byHash;
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${what} must be a list of strings`);
  }
  return [...new Set(value)];
}

/** tokenHash is the SHA-256, in lowercase hex, that the tokens file holds for `token`. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * TokensFile holds the entries of a tokens file and re-reads it when its size or modification
 * time changes (checked every TOKENS_FILE_REFRESH_MS), so a token added or revoked takes effect
 * without a restart. A file that becomes unreadable or invalid keeps the entries read last and
 * tells `onError` why; the first read throws instead, so a node never starts with a bad file.
 */
export class TokensFile {
  private entries: Map<string, TokenEntry>;
  private stamp: string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly onChange: (count: number) => void,
    private readonly onError: (reason: string) => void,
    refreshMs = TOKENS_FILE_REFRESH_MS,
  ) {
    this.entries = this.read();
    this.stamp = fileStamp(this.path);
    this.timer = setInterval(() => this.refresh(), refreshMs);
    this.timer.unref();
  }

  /** size is the number of identities the file grants. */
  get size(): number {
    return this.entries.size;
  }

  /** lookup is the entry whose hash is `token`'s, or undefined (unknown or revoked). */
  lookup(token: string): TokenEntry | undefined {
    return this.entries.get(tokenHash(token));
  }

  /** close stops watching the file. */
  close(): void {
    clearInterval(this.timer);
  }

  private refresh(): void {
    let stamp: string;
    try {
      stamp = fileStamp(this.path);
    } catch (e) {
      this.onError(`cannot read ${this.path}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (stamp === this.stamp) return;
    try {
      this.entries = this.read();
      this.stamp = stamp;
      this.onChange(this.entries.size);
    } catch (e) {
      // Keep the stamp old: the next look tries again (a file caught halfway through a write).
      this.onError(e instanceof Error ? e.message : String(e));
    }
  }

  private read(): Map<string, TokenEntry> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      throw new Error(`cannot read tokens file ${this.path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      return parseTokensFile(text);
    } catch (e) {
      throw new Error(`tokens file ${this.path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
