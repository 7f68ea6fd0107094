import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { pino } from 'pino';
import type { ClientGrpcServer } from '../../src/index';
import { LeadershipService, freePort, loadPublicApi, startGrpcServer } from '../../src/index';
import { DEPOSED_LEADER_ANSWER_GRACE_MS } from '../../src/grpc/forwarder';
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

/**
 * followerEdgeFor binds `leader` (a stand-in leader's gRPC server, services added) on loopback and
 * starts the gRPC edge of a stand-in follower f1 that names it (n1) as the leader.
 */
async function followerEdgeFor(
  leader: grpc.Server,
  solo: SingleNode,
): Promise<{ node: RaftNode<ApplyResult>; edge: ClientGrpcServer }> {
  const port = await new Promise<number>((resolve, reject) =>
    leader.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e === null ? resolve(p) : reject(e),
    ),
  );
  const node = standInFollower('f1', 'n1');
  const directory = (id: string): string | undefined => (id === 'n1' ? `127.0.0.1:${port}` : undefined);
  const service = new LeadershipService(node, solo.server.stateMachine, solo.server.hub, (id) => ({
    grpc: directory(id),
  }));
  const edge = await startGrpcServer({
    address: '127.0.0.1:0',
    service,
    node,
    logger: pino({ level: 'silent' }),
    leaderGrpcAddress: directory,
  });
  return { node, edge };
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

/** LEADER_STATUS_HELD_MS_MAX bounds how long the stand-in leader holds a call's status back. */
const LEADER_STATUS_HELD_MS_MAX = 5000;

/**
 * A follower relays the leader's answer to a unary call when its message arrives, not when the
 * status that follows it does (a busy leader sends that a turn or more of its event loop later).
 * The stand-in leader here sends an Acquire's message and holds its status back until the client
 * of the follower has its answer (or LEADER_STATUS_HELD_MS_MAX passed): a follower that waits for
 * the status answers only after the stand-in gave up holding it.
 */
describe('a follower relaying the leader answer', () => {
  jest.setTimeout(30_000);
  let solo: SingleNode;
  let leader: grpc.Server;
  let edge: ClientGrpcServer;
  let client: grpc.Client;
  /** statusSent is whether the stand-in leader has ended the current Acquire with its status. */
  let statusSent = false;
  let releaseStatus: () => void = () => undefined;

  beforeAll(async () => {
    solo = await startSingleNode();
    leader = new grpc.Server();
    const api = loadPublicApi();
    // A unary answer on the wire is a server stream of one message: served as one, the stand-in
    // decides when the status goes.
    leader.addService(
      {
        ...api.leadership.definition,
        Acquire: { ...api.leadership.definition['Acquire']!, responseStream: true },
      },
      {
        Acquire: (call: grpc.ServerWritableStream<{ scope: string }, object>) => {
          statusSent = false;
          call.write({
            granted: true,
            alreadyHolder: false,
            raftTerm: '1',
            lease: { scope: call.request.scope, fenceToken: '9' },
          });
          const end = (): void => {
            clearTimeout(timer);
            if (statusSent) return;
            statusSent = true;
            call.end();
          };
          const timer = setTimeout(end, LEADER_STATUS_HELD_MS_MAX);
          releaseStatus = end;
        },
      },
    );
    ({ edge } = await followerEdgeFor(leader, solo));
    client = new api.leadership.Client(edge.address, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    releaseStatus();
    client.close();
    await edge.close();
    leader.forceShutdown();
    await solo.stop();
  });

  it('answers a forwarded unary write with the leader message before the leader status', async () => {
    const answer = (await unary(client, 'Acquire', {
      scope: 'relay/early',
      candidateId: 'a',
      leaseTtlMs: 5000,
    })) as {
      granted: boolean;
      lease: { fenceToken: string };
    };
    const statusSentAtAnswer = statusSent;
    releaseStatus();
    expect(answer.granted).toBe(true);
    expect(answer.lease.fenceToken).toBe('9');
    expect(statusSentAtAnswer).toBe(false);
  });
});

describe('a follower whose leader is deposed while a forwarded call waits for it', () => {
  jest.setTimeout(30_000);
  let solo: SingleNode;
  let leader: grpc.Server;
  let edge: ClientGrpcServer;
  let client: grpc.Client;
  let node: RaftNode<ApplyResult>;
  /** arrived resolves once the stand-in leader holds the forwarded Acquire (it never answers it). */
  let arrived: () => void = () => undefined;
  const held: Array<grpc.sendUnaryData<object>> = [];

  beforeAll(async () => {
    solo = await startSingleNode();
    leader = new grpc.Server();
    const api = loadPublicApi();
    // A frozen leader: it takes the call and never answers.
    leader.addService(api.leadership.definition, {
      Acquire: (_call: grpc.ServerUnaryCall<unknown, object>, callback: grpc.sendUnaryData<object>) => {
        held.push(callback);
        arrived();
      },
    });
    ({ node, edge } = await followerEdgeFor(leader, solo));
    client = new api.leadership.Client(edge.address, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await edge.close();
    leader.forceShutdown();
    await solo.stop();
  });

  beforeEach(() => {
    held.length = 0;
    Object.assign(node, { leaderId: 'n1' });
  });

  it('answers UNAVAILABLE (outcome unknown) once another leader is known and the grace passed, not at the call deadline', async () => {
    const started = Date.now();
    const reachedLeader = new Promise<void>((resolve) => (arrived = resolve));
    const call = failureOf(
      unary(client, 'Acquire', { scope: 'deposed/a', candidateId: 'a', leaseTtlMs: 5000 }),
    );
    await reachedLeader;
    // The follower learns of the next leader (as after an election while n1 is frozen).
    Object.assign(node, { leaderId: 'n2', membership: { voters: ['f1', 'n1', 'n2'], learners: [] } });
    node.emit('leader', 'n2', 2);
    const error = await call;
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toMatch(
      /n1\) lost office to n2 before it answered; it may or may not have been applied/,
    );
    expect(held).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(DEPOSED_LEADER_ANSWER_GRACE_MS + 5000);
  });

  it('still relays an answer the old leader sends just after the change (a forwarded TransferLeadership is answered so)', async () => {
    const reachedLeader = new Promise<void>((resolve) => (arrived = resolve));
    const call = unary(client, 'Acquire', { scope: 'deposed/b', candidateId: 'b', leaseTtlMs: 5000 });
    await reachedLeader;
    Object.assign(node, { leaderId: 'n2', membership: { voters: ['f1', 'n1', 'n2'], learners: [] } });
    node.emit('leader', 'n2', 2);
    await new Promise((resolve) => setTimeout(resolve, DEPOSED_LEADER_ANSWER_GRACE_MS / 5));
    held[0]!(null, { granted: true, alreadyHolder: true });
    await expect(call).resolves.toMatchObject({ granted: true, alreadyHolder: true });
  });
});
