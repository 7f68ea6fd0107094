import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { pino } from 'pino';
import type { ClientGrpcServer } from '../../src/index';
import { LeadershipService, freePort, loadPublicApi, startGrpcServer } from '../../src/index';
import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';
import {
  StreamReader,
  duplex,
  errorCodeOf,
  failureOf,
  metadataOf,
  serverStream,
  unary,
} from './grpc-test-helpers';

/**
 * StandInFollower is the part of a Raft node the gRPC edge reads, for a node that follows
 * `leaderId`: enough to put a follower's edge in front of a leader that is not there.
 */
function standInFollower(id: string, leaderId: string): RaftNode<ApplyResult> {
  return Object.assign(new EventEmitter(), {
    id,
    isLeader: false,
    leaderId,
  }) as unknown as RaftNode<ApplyResult>;
}

describe('a follower whose leader cannot be reached', () => {
  jest.setTimeout(30_000);
  let solo: SingleNode;
  let edge: ClientGrpcServer;
  let client: grpc.Client;
  let leaderAddress: string;

  beforeAll(async () => {
    solo = await startSingleNode();
    // Nothing listens on the leader's gRPC address.
    leaderAddress = `127.0.0.1:${await freePort()}`;
    const node = standInFollower('f1', 'ghost');
    const directory = (id: string): string | undefined => (id === 'ghost' ? leaderAddress : undefined);
    const service = new LeadershipService(node, solo.server.stateMachine, solo.server.hub, (id) => ({
      grpc: directory(id),
    }));
    edge = await startGrpcServer({
      address: '127.0.0.1:0',
      service,
      node,
      logger: pino({ level: 'silent' }),
      leaderGrpcAddress: directory,
    });
    client = new (loadPublicApi().leadership.Client)(edge.address, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await edge.close();
    await solo.stop();
  });

  function expectNotLeader(error: grpc.ServiceError | null): void {
    expect(error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error && errorCodeOf(error)).toBe('NOT_LEADER');
    expect(error && metadataOf(error, 'omnirelay-leader-hint')).toBe('ghost');
    expect(error && metadataOf(error, 'omnirelay-leader-address')).toBe(leaderAddress);
  }

  it('answers a unary write NOT_LEADER, naming the leader and its gRPC address', async () => {
    expectNotLeader(
      await failureOf(
        unary(client, 'Acquire', { scope: 'unreachable/a', candidateId: 'a', leaseTtlMs: 5000 }),
      ),
    );
  });

  it('answers a Campaign and a KeepAlive stream NOT_LEADER the same way', async () => {
    const campaign = await new StreamReader(
      serverStream(client, 'Campaign', { scope: 'unreachable/c', candidateId: 'a', leaseTtlMs: 5000 }),
    ).end();
    expectNotLeader(campaign.error);
    const stream = duplex(client, 'KeepAlive');
    const reader = new StreamReader(stream);
    stream.write({ leases: [{ scope: 'unreachable/k', fenceToken: '7' }] });
    const keepAlive = await reader.end();
    expect(keepAlive.messages).toEqual([]);
    expectNotLeader(keepAlive.error);
  });
});
