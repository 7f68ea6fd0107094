import type { NodeStatus } from '@omnirelay/client-sdk';
import type { JsonValue } from './json';
import { jsonDocument } from './json';
import { renderTable } from './table';

/** NodeReport is what one endpoint answered to Status: its status, or why it did not answer. */
export type NodeReport = NodeStatus | UnreachableNode;

/** UnreachableNode is an endpoint that did not answer, with the SDK error's code and message. */
export interface UnreachableNode {
  readonly address: string;
  readonly error: { readonly code: string; readonly message: string };
}

/** isUnreachable tells an endpoint that did not answer apart. */
export function isUnreachable(r: NodeReport): r is UnreachableNode {
  return 'error' in r;
}

/** STATUS_HEADERS are the columns of the `omnirelay status` table. */
export const STATUS_HEADERS = [
  'ENDPOINT',
  'ID',
  'ROLE',
  'TERM',
  'LEADER',
  'COMMIT',
  'APPLIED',
  'MEMBERS',
] as const;

/**
 * statusTable renders one row per endpoint, in the order the endpoints were given. An endpoint
 * that did not answer shows ROLE `unreachable` (or `timeout` when it did not answer in time)
 * and `-` elsewhere; a learner is listed in MEMBERS as `<id>(learner)`.
 */
export function statusTable(reports: readonly NodeReport[]): string {
  return renderTable(
    STATUS_HEADERS,
    reports.map((r) =>
      isUnreachable(r)
        ? [
            r.address,
            '-',
            r.error.code === 'DEADLINE_EXCEEDED' ? 'timeout' : 'unreachable',
            '-',
            '-',
            '-',
            '-',
            '-',
          ]
        : [
            r.address,
            r.nodeId,
            r.role,
            r.term.toString(),
            r.leader === '' ? '-' : r.leader,
            r.commit.toString(),
            r.applied.toString(),
            sortedMembers(r)
              .map((m) => (m.voter ? m.id : `${m.id}(learner)`))
              .join(','),
          ],
    ),
  );
}

/**
 * statusJson renders `{"nodes": [...]}` in endpoint order. A node that answered has
 * `reachable: true` and its status (term, commit, applied as decimal strings; leader "" when it
 * knows none); one that did not has `reachable: false` and `error: {code, message}`.
 */
export function statusJson(reports: readonly NodeReport[]): string {
  return jsonDocument({ nodes: reports.map(nodeJson) });
}

function nodeJson(r: NodeReport): JsonValue {
  if (isUnreachable(r)) {
    return { endpoint: r.address, reachable: false, error: { code: r.error.code, message: r.error.message } };
  }
  return {
    endpoint: r.address,
    reachable: true,
    id: r.nodeId,
    role: r.role,
    term: r.term.toString(),
    leader: r.leader,
    commit: r.commit.toString(),
    applied: r.applied.toString(),
    members: sortedMembers(r).map((m) => ({ id: m.id, voter: m.voter })),
  };
}

function sortedMembers(r: NodeStatus): NodeStatus['members'][number][] {
  return [...r.members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
