import type * as grpc from '@grpc/grpc-js';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import type { Logger } from 'pino';
import { chunksOf, takeBackup } from '../cluster/backup';
import { changeMembership, members, transferLeadership } from '../cluster/cluster-ops';
import type { MembershipChange } from '../cluster/cluster-ops';
import type { ClustersAnswer, ReplicationView } from '../cross-cluster/clusters-answer';
import {
  IDLE_REPLICATION,
  clustersAnswer,
  clustersToWire,
  failoverRecordToWire,
} from '../cross-cluster/clusters-answer';
import { setClusterRequest } from '../cross-cluster/set-cluster-request';
import { failoverStepRequest } from '../cross-cluster/failover-step-request';
import { ServerError } from '../errors/error-table';
import type { LeadershipService, ReadConsistency } from '../leadership/leadership-service';
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
  /** clusters serves Clusters and SetCluster: the leadership service and this node's replicator. */
  readonly clusters?: {
    readonly service: LeadershipService;
    readonly replication: () => ReplicationView;
  };
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
  const clustersService = (): LeadershipService => {
    if (options.clusters === undefined) throw new ServerError('INTERNAL', 'Clusters is not served here');
    return options.clusters.service;
  };
  const clustersOf = async (consistency: ReadConsistency): Promise<ClustersAnswer> =>
    clustersAnswer(
      await clustersService().clusters(consistency),
      options.clusters?.replication() ?? IDLE_REPLICATION,
    );
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
    Clusters: unaryHandler(logger, 'Clusters', async (request) => {
      const o = requestFields(request, 'Clusters');
      const answer = await clustersOf(o['serializable'] === true ? 'serializable' : 'linearizable');
      return clustersToWire(answer);
    }),
    SetCluster: unaryHandler(
      logger,
      'SetCluster',
      async (request) => {
        const { peer, ...fields } = requestFields(request, 'SetCluster');
        await clustersService().setCluster(setClusterRequest({ ...fields, local: peer !== true }));
        return clustersToWire(await clustersOf('serializable'));
      },
      forwarding,
    ),
    RecordFailoverStep: unaryHandler(
      logger,
      'RecordFailoverStep',
      async (request) =>
        failoverRecordToWire(
          await clustersService().recordFailoverStep(
            failoverStepRequest(requestFields(request, 'RecordFailoverStep')),
          ),
        ),
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
