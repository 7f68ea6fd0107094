/**
 * The tokens file a node authenticates bearer tokens with (`--auth-tokens-file`), edited in place:
 *
 *   tokens:
 *     - name: orders               # the identity, as `cert issue client --name` names one
 *       sha256: <64 lowercase hex> # SHA-256 of the token; the token itself is never stored
 *       roles: [mesh.read]         # optional
 *       scopes: [shard/orders/]    # optional scope prefixes; "*" = every scope
 *
 * Edits go through the `yaml` package's Document API, so the file's other entries, comments and
 * layout stay as they were; the new text replaces the file atomically (a temporary file renamed
 * over it), so a node re-reading it never sees half a file.
 */
import { lstat, readFile, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Document, YAMLSeq } from 'yaml';
import { YAMLMap, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import {
  CertError,
  checkName,
  checkRoles,
  checkScopePrefixes,
  isCertError,
  writeFileAtomic,
} from '@omnirelay/certs';
import { mintToken, tokenSha256 } from './mint';

/** TOKENS_FILE_MODE is the mode of a tokens file this command creates (an existing file keeps its own). */
export const TOKENS_FILE_MODE = 0o600;

/** TOKENS_FILE_BYTES_MAX bounds the tokens file read (about ten thousand entries). */
export const TOKENS_FILE_BYTES_MAX = 4 * 1024 * 1024;

/** TOKENS_FILE_HEADER is the comment a new tokens file starts with. */
export const TOKENS_FILE_HEADER =
  ' OmniRelay bearer tokens (--auth-tokens-file): SHA-256 hashes, never the tokens.\n Edit with omnirelay token create / revoke.';

/** TokenEntry is one entry of a tokens file. */
export interface TokenEntry {
  readonly name: string;
  /** sha256 is the SHA-256 of the token's UTF-8 text, 64 lowercase hex digits. */
  readonly sha256: string;
  readonly roles: readonly string[];
  /** scopes are the scope prefixes the identity may campaign for. */
  readonly scopes: readonly string[];
}

/** CreateTokenOptions are createToken's options (the CLI's flags). */
export interface CreateTokenOptions {
  readonly tokensFile: string;
  readonly name: string;
  readonly roles?: readonly string[] | undefined;
  readonly scopePrefixes?: readonly string[] | undefined;
  /** replace mints a new token for a name already in the file (its old token stops working). */
  readonly replace?: boolean | undefined;
}

/** CreatedToken is what createToken did: the token (shown once), its entry, and where it went. */
export interface CreatedToken {
  readonly token: string;
  readonly entry: TokenEntry;
  /** tokensFile is the file written, as an absolute path. */
  readonly tokensFile: string;
  /** replaced: the name was in the file and its entry was replaced. */
  readonly replaced: boolean;
}

/**
 * createToken mints a token for `name` and adds its entry to the tokens file, creating the file
 * (mode 0600) when it does not exist. Every input and the existing file are checked before
 * anything is written, so a refusal (CertError) leaves the file as it was.
 */
export async function createToken(options: CreateTokenOptions): Promise<CreatedToken> {
  const name = checkName(options.name, '--name');
  const roles = checkRoles(options.roles ?? []);
  const scopes = checkScopePrefixes(options.scopePrefixes ?? []);
  const file = await loadTokensFile(checkTokensFile(options.tokensFile));
  const index = indexOfName(file, name);
  if (index >= 0 && options.replace !== true) {
    throw new CertError(
      'ALREADY_EXISTS',
      `a token named ${JSON.stringify(name)} is already in ${file.path}`,
      'give --replace to mint a new one for it (the old token stops working), or choose another --name',
    );
  }
  const token = mintToken();
  const entry: TokenEntry = { name, sha256: tokenSha256(token), roles, scopes };
  const node = entryNode(file.doc, entry);
  const old = index >= 0 ? file.tokens.items[index] : undefined;
  if (old !== undefined) {
    node.commentBefore = (old as { commentBefore?: string | null }).commentBefore ?? null;
    file.tokens.items[index] = node;
  } else {
    file.tokens.items.push(node);
  }
  await saveTokensFile(file);
  return { token, entry, tokensFile: file.path, replaced: old !== undefined };
}

/**
 * revokeToken removes the entry named `name` from the tokens file; nodes refuse its token once
 * they re-read the file. NOT_FOUND when the file or the name is not there (nothing is written).
 */
export async function revokeToken(options: {
  tokensFile: string;
  name: string;
}): Promise<{ tokensFile: string }> {
  const name = checkName(options.name, '--name');
  const file = await loadTokensFile(checkTokensFile(options.tokensFile));
  if (!file.exists) {
    throw new CertError('NOT_FOUND', `${file.path} does not exist`, 'check --tokens-file');
  }
  const index = indexOfName(file, name);
  if (index < 0) {
    throw new CertError(
      'NOT_FOUND',
      `no token named ${JSON.stringify(name)} in ${file.path}`,
      `check --name against the names in the file (${namesOf(file).join(', ') || 'it has none'})`,
    );
  }
  file.tokens.items.splice(index, 1);
  await saveTokensFile(file);
  return { tokensFile: file.path };
}

/** TokensFile is a tokens file read for an edit. */
interface TokensFile {
  /** path is the absolute path given; target is the file written (the path with symlinks resolved). */
  readonly path: string;
  readonly target: string;
  readonly exists: boolean;
  /** mode is the file's mode (TOKENS_FILE_MODE for a new file), kept when it is rewritten. */
  readonly mode: number;
  readonly doc: Document;
  readonly tokens: YAMLSeq;
}

function checkTokensFile(path: string): string {
  if (path.trim() === '') {
    throw new CertError(
      'INVALID_ARGUMENT',
      '--tokens-file is empty',
      "give the path of the nodes' tokens file",
    );
  }
  return resolve(path);
}

/** loadTokensFile reads and checks the tokens file at `path`; a missing file reads as a new, empty one. */
async function loadTokensFile(path: string): Promise<TokensFile> {
  let target: string;
  try {
    target = await realpath(path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw ioFailed(`cannot read ${path}`, e);
    const doc = parseDocument('tokens: []\n');
    doc.commentBefore = TOKENS_FILE_HEADER;
    return { path, target: path, exists: false, mode: TOKENS_FILE_MODE, doc, tokens: tokensOf(doc, path) };
  }
  let text: string;
  let mode: number;
  try {
    const stat = await lstat(target);
    if (!stat.isFile()) throw invalidFile(path, 'is not a regular file');
    if (stat.size > TOKENS_FILE_BYTES_MAX) {
      throw invalidFile(
        path,
        `is ${stat.size} bytes, more than the ${TOKENS_FILE_BYTES_MAX} a tokens file may have`,
      );
    }
    mode = stat.mode & 0o777;
    text = await readFile(target, 'utf8');
  } catch (e) {
    if (isCertError(e)) throw e;
    throw ioFailed(`cannot read ${path}`, e);
  }
  const doc = parseDocument(text);
  const error = doc.errors[0];
  if (error !== undefined) {
    throw invalidFile(path, `is not valid YAML (${error.message.split('\n')[0] ?? error.code})`);
  }
  // An empty file (or one of comments only) is a tokens file without entries.
  if (doc.contents === null) doc.contents = doc.createNode({ tokens: [] }) as unknown as typeof doc.contents;
  return { path, target, exists: true, mode, doc, tokens: tokensOf(doc, path) };
}

/** tokensOf finds (adding it when absent) the `tokens` list of a tokens file, refusing any other shape. */
function tokensOf(doc: Document, path: string): YAMLSeq {
  if (!isMap(doc.contents)) throw invalidFile(path, 'is not a mapping with a tokens list');
  let tokens = doc.contents.get('tokens', true);
  if (tokens === undefined || (isScalar(tokens) && tokens.value === null)) {
    doc.contents.set('tokens', doc.createNode([]));
    tokens = doc.contents.get('tokens', true);
  }
  if (!isSeq(tokens)) throw invalidFile(path, 'has a tokens key that is not a list');
  tokens.items.forEach((item, i) => {
    const name = isMap(item) ? item.get('name') : undefined;
    if (typeof name !== 'string') throw invalidFile(path, `has a tokens entry (${i + 1}) without a name`);
  });
  return tokens;
}

function namesOf(file: TokensFile): string[] {
  return file.tokens.items.map((item) => String((item as YAMLMap).get('name')));
}

function indexOfName(file: TokensFile, name: string): number {
  return namesOf(file).indexOf(name);
}

/** entryNode is the YAML of one entry: roles and scopes in flow style, left out when empty. */
function entryNode(doc: Document, entry: TokenEntry): YAMLMap {
  const node = new YAMLMap();
  node.set('name', entry.name);
  node.set('sha256', entry.sha256);
  for (const [key, list] of [
    ['roles', entry.roles],
    ['scopes', entry.scopes],
  ] as const) {
    if (list.length === 0) continue;
    const seq = doc.createNode([...list]) as YAMLSeq;
    seq.flow = true;
    node.set(key, seq);
  }
  return node;
}

/** saveTokensFile writes the edited file over the old one atomically, with the old file's mode. */
async function saveTokensFile(file: TokensFile): Promise<void> {
  try {
    await writeFileAtomic(
      file.target,
      file.doc.toString({ flowCollectionPadding: false }),
      file.mode,
      file.exists,
    );
  } catch (e) {
    if (isCertError(e, 'ALREADY_EXISTS')) {
      throw new CertError('ALREADY_EXISTS', `${file.path} was created meanwhile`, 'run the command again');
    }
    throw e;
  }
}

function invalidFile(path: string, what: string): CertError {
  return new CertError(
    'INVALID_TOKENS_FILE',
    `the tokens file ${path} ${what}`,
    'fix the file: a mapping whose tokens key lists entries with name, sha256, roles and scopes',
  );
}

function ioFailed(what: string, e: unknown): CertError {
  return new CertError(
    'IO_FAILED',
    `${what} (${errnoOf(e) ?? String(e)})`,
    'check the path and its permissions',
    {
      cause: e,
    },
  );
}

function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as NodeJS.ErrnoException).code : undefined;
}
