import {
  CANDIDATE_ID_BYTES_MAX,
  CORRELATION_ID_BYTES_MAX,
  METADATA_BYTES_MAX,
  SESSION_ID_BYTES_MAX,
} from './limits';
import { LeadershipError } from './errors';

/**
 * unshared returns `text` with storage of its own: the same characters, in a string that keeps no
 * other string alive. A string the state machine keeps for as long as a scope or lease lives
 * (a scope's name, a holder's candidate, session and metadata) comes from a decoded entry, and
 * msgpackr's native decoding hands out short strings as slices of one string extracted from the
 * whole entry, so each kept slice kept the entry's strings alive: at 20,000 leases a follower
 * held 51,000 slices of 21,000 such strings (bench/README.md "scale", session 27). One
 * String.fromCharCode of the code units is exact for any string (lone surrogates included) and
 * about 0.2 µs for a 36-character one; it runs once per command that names a scope, never per
 * renewal.
 */
export function unshared(text: string): string {
  const units = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  return String.fromCharCode(...units);
}

/**
 * utf8ByteLength returns the number of bytes `text` takes in UTF-8, without allocating. A lone
 * surrogate counts as the three bytes of U+FFFD, as an encoder would write it.
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      bytes += 1;
    } else if (unit < 0x800) {
      bytes += 2;
    } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

const candidateIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/;
const correlationIdPattern = /^[\x21-\x7e]+$/;
const sessionIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/** CANDIDATE_ID_RULES is the human-readable rule a candidate id must follow. */
export const CANDIDATE_ID_RULES = `a candidate id is 1..${CANDIDATE_ID_BYTES_MAX} characters: a first character from [A-Za-z0-9], then [A-Za-z0-9._:@/-]`;

/** CORRELATION_ID_RULES is the human-readable rule a correlation id must follow. */
export const CORRELATION_ID_RULES = `a correlation id is 1..${CORRELATION_ID_BYTES_MAX} printable ASCII characters (no space)`;

/** SESSION_ID_RULES is the human-readable rule a client session id must follow. */
export const SESSION_ID_RULES = `a session id is 1..${SESSION_ID_BYTES_MAX} characters: a first character from [A-Za-z0-9], then [A-Za-z0-9._:-]`;

/** validateCandidateId throws INVALID_ARGUMENT unless `candidateId` follows CANDIDATE_ID_RULES. */
export function validateCandidateId(candidateId: string, field = 'candidateId'): void {
  if (candidateId.length > CANDIDATE_ID_BYTES_MAX || !candidateIdPattern.test(candidateId)) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `${field} ${JSON.stringify(candidateId)}: ${CANDIDATE_ID_RULES}`,
      {
        field,
        limit: CANDIDATE_ID_BYTES_MAX,
      },
    );
  }
}

/** validateCorrelationId throws INVALID_ARGUMENT unless `correlationId` follows CORRELATION_ID_RULES. */
export function validateCorrelationId(correlationId: string): void {
  if (correlationId.length > CORRELATION_ID_BYTES_MAX || !correlationIdPattern.test(correlationId)) {
    throw new LeadershipError('INVALID_ARGUMENT', `correlationId: ${CORRELATION_ID_RULES}`, {
      field: 'correlationId',
      limit: CORRELATION_ID_BYTES_MAX,
    });
  }
}

/** isValidSessionId tells whether `sessionId` follows SESSION_ID_RULES. */
export function isValidSessionId(sessionId: string): boolean {
  return sessionId.length <= SESSION_ID_BYTES_MAX && sessionIdPattern.test(sessionId);
}

/** validateSessionId throws INVALID_ARGUMENT unless `sessionId` follows SESSION_ID_RULES. */
export function validateSessionId(sessionId: string): void {
  if (!isValidSessionId(sessionId)) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `sessionId ${JSON.stringify(sessionId)}: ${SESSION_ID_RULES}`,
      {
        field: 'sessionId',
        limit: SESSION_ID_BYTES_MAX,
      },
    );
  }
}

/** validateMetadata throws METADATA_TOO_LARGE when `metadata` is over METADATA_BYTES_MAX UTF-8 bytes. */
export function validateMetadata(metadata: string): void {
  const bytes = utf8ByteLength(metadata);
  if (bytes > METADATA_BYTES_MAX) {
    throw new LeadershipError(
      'METADATA_TOO_LARGE',
      `metadata is ${bytes} bytes; at most ${METADATA_BYTES_MAX} UTF-8 bytes are allowed`,
      { field: 'metadata', limit: METADATA_BYTES_MAX },
    );
  }
}
