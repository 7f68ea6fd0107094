import type { Members } from '@omnirelay/client-sdk';
import type { JsonValue } from './json';
import { jsonDocument } from './json';
import { renderTable } from './table';

/** MEMBERS_HEADERS are the columns of the `omnirelay cluster members` table. */
export const MEMBERS_HEADERS = ['ID', 'ROLE', 'PEER-ADDRESS', 'CONNECTED', 'MATCH', 'LAG'] as const;

/**
 * membersTable renders the configuration sorted by id: ROLE is `leader`, `voter` or `learner`;
 * CONNECTED is `self` for the node that answered; MATCH and LAG are the leader's replication
 * progress (`-` when a follower answered). A last line names the node that answered.
 */
export function membersTable(m: Members): string {
  const rows = sortById(m.members).map((x) => [
    x.id,
    x.id === m.leader ? 'leader' : x.voter ? 'voter' : 'learner',
    x.peerAddress === '' ? '-' : x.peerAddress,
    x.self ? 'self' : x.connected ? 'yes' : 'no',
    x.match < 0 ? '-' : String(x.match),
    x.lagEntries < 0 || x.match < 0 ? '-' : String(x.lagEntries),
  ]);
  const leader = m.leader === '' ? 'no leader known' : `leader ${m.leader}`;
  return `${renderTable(MEMBERS_HEADERS, rows)}(answered by ${m.nodeId}; ${leader})\n`;
}

/**
 * membersJson renders `{"answeredBy", "leader", "members": [...]}` sorted by id; match and
 * lagEntries are numbers, -1 when a follower answered.
 */
export function membersJson(m: Members): string {
  return jsonDocument(membersObject(m));
}

/** membersObject is the document membersJson renders, for commands that add fields to it. */
export function membersObject(m: Members): { readonly [key: string]: JsonValue } {
  return {
    answeredBy: m.nodeId,
    leader: m.leader,
    members: sortById(m.members).map((x) => ({
      id: x.id,
      voter: x.voter,
      self: x.self,
      peerAddress: x.peerAddress,
      connected: x.connected,
      match: x.match,
      lagEntries: x.lagEntries,
    })),
  };
}

function sortById<T extends { readonly id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
