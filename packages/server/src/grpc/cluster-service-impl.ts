import type * as grpc from '@grpc/grpc-js';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import type { Logger } from 'pino';
import { chunksOf, takeBackup } from '../cluster/backup';
import { changeMembership, members, transferLeadership } from '../cluster/cluster-ops';
import type { MembershipChange } from '../cluster/cluster-ops';
import type { ServerError } from '../errors/error-table';
import type { UnaryForwarding } from './call-log';
import { recordCall, unaryHandler } from './call-log';
import { toServiceError } from './errors';
import { requestFields } from './request-fields';

/** ClusterImplOptions is what the Cluster service implementation needs. */
export interface ClusterImplOptions {
  readonly node: RaftNode<ApplyResult>;
  readonly logger: Logger;
  /** transferTimeoutMs bounds how long TransferLeadership waits for the new leader. */
  readonly transferTimeoutMs: number;
  /** notLeader builds NOT_LEADER with the leader's hint and address. */
  readonly notLeader: () => ServerError;
  /** forwarding sends the writes refused here with NOT_LEADER to the leader (absent: never). */
  readonly forwarding?: UnaryForwarding;
}

/**
 * clusterServiceImpl implements the Cluster service of proto/leadership.proto: `Status` and
 * `Members` (this node's view of the Raft group, never forwarded: it is how a client finds the
 * leader), and the writes that need the leader, `TransferLeadership`, `AddLearner`, `Promote`
 * and `RemoveMember`, which a follower forwards to it; and `Snapshot`, a backup streamed by the
 * leader only (a follower answers NOT_LEADER naming it: the SDK goes there, nothing is proxied).
 */
export function clusterServiceImpl(options: ClusterImplOptions): grpc.UntypedServiceImplementation {
  const { node, logger, transferTimeoutMs, notLeader, forwarding } = options;
  const change = async (c: MembershipChange): Promise<object> => {
    const r = await changeMembership(node, c, notLeader);
    const s = node.status();
    return { nodeId: s.id, leader: s.leader, members: r.members };
  };
  const id = (o: Record<string, unknown>): string => (typeof o['id'] === 'string' ? o['id'] : '');
  return {
    Status: unaryHandler(logger, 'Status', (request) => {
      requestFields(request, 'Status');
      const s = node.status();
      return Promise.resolve({
        nodeId: s.id,
        role: s.role,
        term: s.term,
        leader: s.leader,
        commit: s.commit,
        applied: s.applied,
        members: [
          ...s.membership.voters.map((id) => ({ id, voter: true })),
          ...s.membership.learners.map((id) => ({ id, voter: false })),
        ],
      });
    }),
    Members: unaryHandler(logger, 'Members', (request) => {
      requestFields(request, 'Members');
      const s = node.status();
      return Promise.resolve({ nodeId: s.id, leader: s.leader, members: members(node) });
    }),
    TransferLeadership: unaryHandler(
      logger,
      'TransferLeadership',
      async (request) => {
        const o = requestFields(request, 'TransferLeadership');
        const to = typeof o['to'] === 'string' ? o['to'] : '';
        return transferLeadership(node, to, transferTimeoutMs, notLeader);
      },
      forwarding,
    ),
    AddLearner: unaryHandler(
      logger,
      'AddLearner',
      (request) => {
        const o = requestFields(request, 'AddLearner');
        const text = (name: string): string => (typeof o[name] === 'string' ? o[name] : '');
        // Empty means "not given": proto3 has no absent string.
        const optional = (name: 'clientAddress' | 'grpcAddress'): Record<string, string> =>
          text(name) === '' ? {} : { [name]: text(name) };
        return change({
          type: 'addLearner',
          id: id(o),
          peerAddress: text('peerAddress'),
          ...optional('clientAddress'),
          ...optional('grpcAddress'),
        });
      },
      forwarding,
    ),
    Promote: unaryHandler(
      logger,
      'Promote',
      (request) => change({ type: 'promote', id: id(requestFields(request, 'Promote')) }),
      forwarding,
    ),
    RemoveMember: unaryHandler(
      logger,
      'RemoveMember',
      (request) => change({ type: 'remove', id: id(requestFields(request, 'RemoveMember')) }),
      forwarding,
    ),
    Snapshot: (call: grpc.ServerWritableStream<unknown, object>) => {
      let cancelled = false;
      call.on('cancelled', () => (cancelled = true));
      (async () => {
        requestFields(call.request, 'Snapshot');
        const parts = await takeBackup(node);
        for (const data of chunksOf(parts)) {
          if (cancelled) return;
          // Wait for the socket when the client reads slower than the leader writes.
          if (!call.write({ data })) {
            await new Promise<void>((resolve) => {
              call.once('drain', resolve);
              call.once('cancelled', resolve);
            });
          }
        }
        call.end();
        recordCall(logger, 'Snapshot', 'ok');
      })().catch((e: unknown) => {
        const error = toServiceError(e);
        recordCall(logger, 'Snapshot', error, e);
        if (!cancelled) call.emit('error', error);
      });
    },
  };
}
