import { PRINCIPAL_BYTES_MAX } from '@omnirelay/leadership-fsm';
import { Packr } from 'msgpackr';

/** ENVELOPE_VERSION tags the replicated entry format; another version is refused at apply. */
export const ENVELOPE_VERSION = 1;

const packr = new Packr({ useRecords: false });

/**
 * Envelope is what the server replicates through Raft for one leadership command: the leader's
 * stamp (lease time: see StampClock), the proposing node, and the FSM command bytes. The
 * FSM's time is the stamp of the entry it applies, so every replica sees the same time.
 */
export interface Envelope {
  readonly stampMs: number;
  readonly proposerId: string;
  readonly command: Uint8Array;
  /** transport is how the request behind the command arrived ('h2c', 'HTTP/1.1', 'internal'; '' in entries written before it was recorded). */
  readonly transport: string;
  /**
   * principal is the authenticated caller of the request behind the command (`client/orders`,
   * `token/ops`; '' for the server's own writes, unauthenticated requests, and entries written
   * before it was recorded). At most PRINCIPAL_BYTES_MAX characters.
   */
  readonly principal: string;
}

/** encodeEnvelope serialises an envelope. */
export function encodeEnvelope(e: Envelope): Uint8Array {
  return packr.pack([ENVELOPE_VERSION, e.stampMs, e.proposerId, e.command, e.transport, e.principal]);
}

/** decodeEnvelope parses an envelope, or returns a reason when the bytes are not one. */
export function decodeEnvelope(bytes: Uint8Array): Envelope | string {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (e) {
    return `not msgpack: ${e instanceof Error ? e.message : String(e)}`;
  }
  // Entries written before the transport was recorded have four elements, before the principal five.
  if (!Array.isArray(value) || value.length < 4 || value.length > 6) return 'not an envelope';
  const [version, stampMs, proposerId, command, transport = '', principal = ''] = value as unknown[];
  if (version !== ENVELOPE_VERSION) return `envelope version ${String(version)} is not ${ENVELOPE_VERSION}`;
  if (typeof stampMs !== 'number' || !Number.isSafeInteger(stampMs) || stampMs < 0) return 'bad stamp';
  if (typeof proposerId !== 'string') return 'bad proposer';
  if (!(command instanceof Uint8Array)) return 'bad command bytes';
  if (typeof transport !== 'string') return 'bad transport';
  if (typeof principal !== 'string' || principal.length > PRINCIPAL_BYTES_MAX) return 'bad principal';
  return { stampMs, proposerId, command, transport, principal };
}
