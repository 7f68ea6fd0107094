import type * as grpc from '@grpc/grpc-js';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import type { Logger } from 'pino';
import { unaryHandler } from './call-log';
import { requestFields } from './request-fields';

/** ClusterImplOptions is what the Cluster service implementation needs. */
export interface ClusterImplOptions {
  readonly node: RaftNode<ApplyResult>;
  readonly logger: Logger;
}

/**
 * clusterServiceImpl implements the Cluster service of proto/leadership.proto: `Status`, this
 * node's view of the Raft group (local, never forwarded: it is how a client finds the leader).
 */
export function clusterServiceImpl(options: ClusterImplOptions): grpc.UntypedServiceImplementation {
  const { node, logger } = options;
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
  };
}
