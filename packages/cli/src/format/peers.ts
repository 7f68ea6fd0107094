import type { JsonValue } from './json';
import { jsonDocument } from './json';
import { renderTable } from './table';

/** PeerRow is one member as GET /control/peers reports it (the fields the CLI shows). */
export interface PeerRow {
  readonly id: string;
  readonly role: string;
  readonly self: boolean;
  readonly addresses: {
    readonly peer: string | null;
    readonly client: string | null;
    readonly grpc: string | null;
  };
  readonly link: string;
  readonly match: number | null;
  readonly lagEntries: number | null;
  readonly clockOffsetMs: number | null;
  readonly version: string | null;
  readonly diskFreeBytes: number | null;
  readonly healthy: boolean;
  readonly problems: readonly string[];
}

/** PeersAnswer is the body of GET /control/peers. */
export interface PeersAnswer {
  readonly answeredBy: string;
  readonly leader: string;
  readonly term: number;
  readonly healthyMeans: string;
  readonly peers: readonly PeerRow[];
}

/** PEERS_HEADERS are the columns of the `omnirelay mesh peers list` table. */
export const PEERS_HEADERS = [
  'ID',
  'ROLE',
  'HEALTHY',
  'LINK',
  'PEER-ADDRESS',
  'CLIENT-ADDRESS',
  'MATCH',
  'LAG',
  'CLOCK-OFFSET',
  'VERSION',
  'DISK-FREE',
  'PROBLEMS',
] as const;

/**
 * peersTable renders the members in the answer's order (by id): `-` where the answering node
 * does not know a value (match and lag come from the leader only; version and disk from the
 * answering node only), PROBLEMS joined by `; `. A last line names the node that answered.
 */
export function peersTable(answer: PeersAnswer): string {
  const dash = (v: string | number | null): string => (v === null ? '-' : String(v));
  const rows = answer.peers.map((p) => [
    p.id,
    p.role,
    p.healthy ? 'yes' : 'no',
    p.link,
    dash(p.addresses.peer),
    dash(p.addresses.client),
    dash(p.match),
    dash(p.lagEntries),
    p.clockOffsetMs === null ? '-' : `${p.clockOffsetMs}ms`,
    dash(p.version),
    p.diskFreeBytes === null ? '-' : `${Math.floor(p.diskFreeBytes / (1024 * 1024))}MiB`,
    p.problems.length === 0 ? '-' : p.problems.join('; '),
  ]);
  const leader = answer.leader === '' ? 'no leader known' : `leader ${answer.leader}`;
  return `${renderTable(PEERS_HEADERS, rows)}(answered by ${answer.answeredBy}; ${leader}; term ${answer.term})\n`;
}

/** peersJson renders the answer as one JSON document, as the server sent it. */
export function peersJson(answer: PeersAnswer): string {
  return jsonDocument(answer as unknown as JsonValue);
}
