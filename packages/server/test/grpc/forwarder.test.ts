import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { hopLedger } from '@omnirelay/raft';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { ClientGrpcServer } from '../../src/index';
import { LeadershipService, freePort, loadPublicApi, startGrpcServer } from '../../src/index';
import { DEPOSED_LEADER_ANSWER_GRACE_MS } from '../../src/grpc/forwarder';
import type { ForwardedAnswer, ForwardedCall } from '../../src/grpc/forward-stream';
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
  logger: Logger = pino({ level: 'silent' }),
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
    logger,
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
  const logLines: string[] = [];

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
    ({ edge } = await followerEdgeFor(
      leader,
      solo,
      pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
    ));
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

  it('says once that this leader has no Forward and forwards each call on its own meanwhile', async () => {
    releaseStatus();
    await unary(client, 'Acquire', { scope: 'relay/second', candidateId: 'a', leaseTtlMs: 5000 });
    releaseStatus();
    const said = logLines
      .map((l) => JSON.parse(l) as { msg: string; leader?: string })
      .filter((l) => l.msg.startsWith('the leader has no Cluster.Forward'));
    expect(said).toHaveLength(1);
    expect(said[0]!.leader).toBe('n1');
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

/** HeldAnswer answers one call a stand-in leader took over Forward. */
type HeldAnswer = (answer: Omit<ForwardedAnswer, 'id'>) => void;

/**
 * addForwardStandIn serves Cluster.Forward on `leader` as a stand-in leader: `onCall` gets each
 * forwarded call and a function that answers it. `opened` counts the Forward calls.
 */
function addForwardStandIn(
  leader: grpc.Server,
  onCall: (
    call: ForwardedCall,
    answer: HeldAnswer,
    stream: grpc.ServerDuplexStream<unknown, unknown>,
  ) => void,
): { opened: () => number; messages: () => number } {
  const api = loadPublicApi();
  let opened = 0;
  let messages = 0;
  leader.addService(api.cluster.definition, {
    Forward: (stream: grpc.ServerDuplexStream<{ calls: ForwardedCall[] }, object>) => {
      opened++;
      stream.on('data', (message: { calls: ForwardedCall[] }) => {
        messages++;
        for (const call of message.calls) {
          onCall(call, (a) => stream.write({ answers: [{ ...a, id: call.id }] }), stream);
        }
      });
      stream.on('error', () => undefined);
    },
  });
  return { opened: () => opened, messages: () => messages };
}

/** acquireAnswer is the bytes of an AcquireResponse granting `scope` under `fence`. */
function acquireAnswer(scope: string, fence: string): Buffer {
  return loadPublicApi().leadership.definition['Acquire']!.responseSerialize({
    granted: true,
    alreadyHolder: false,
    raftTerm: '3',
    lease: { scope, fenceToken: fence },
  });
}

describe('a follower forwarding unary calls over one Forward call', () => {
  jest.setTimeout(30_000);
  let solo: SingleNode;
  let leader: grpc.Server;
  let edge: ClientGrpcServer;
  let client: grpc.Client;
  let node: RaftNode<ApplyResult>;
  let direct = 0;
  let standIn: { opened: () => number; messages: () => number };
  /** behaviour decides how the stand-in answers each forwarded call. */
  let behaviour: (
    call: ForwardedCall,
    answer: HeldAnswer,
    stream: grpc.ServerDuplexStream<unknown, unknown>,
  ) => void;
  const decodeAcquire = (bytes: Buffer): { scope: string } =>
    loadPublicApi().leadership.definition['Acquire']!.requestDeserialize(bytes) as { scope: string };

  beforeAll(async () => {
    solo = await startSingleNode();
    leader = new grpc.Server();
    const api = loadPublicApi();
    // A direct call would mean the follower did not use Forward.
    leader.addService(api.leadership.definition, {
      Acquire: (_call: grpc.ServerUnaryCall<unknown, object>, callback: grpc.sendUnaryData<object>) => {
        direct++;
        callback({ code: grpc.status.INTERNAL, details: 'forwarded as a call of its own' });
      },
    });
    standIn = addForwardStandIn(leader, (call, answer, stream) => behaviour(call, answer, stream));
    ({ node, edge } = await followerEdgeFor(leader, solo));
    client = new api.leadership.Client(edge.address, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await edge.close();
    leader.forceShutdown();
    await solo.stop();
  });

  it('carries 20 concurrent calls on one Forward call and relays each answer with the leader named', async () => {
    behaviour = (call, answer) => {
      const { scope } = decodeAcquire(call.request);
      expect(call.method).toBe('Acquire');
      answer({ code: grpc.status.OK, response: acquireAnswer(scope, scope.split('/')[1]!) });
    };
    const headers: string[] = [];
    const answers = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          new Promise<{ lease: { scope: string; fenceToken: string } }>((resolve, reject) => {
            const call = (
              client as unknown as {
                Acquire: (
                  r: object,
                  m: grpc.Metadata,
                  o: grpc.CallOptions,
                  cb: (e: grpc.ServiceError | null, v?: unknown) => void,
                ) => grpc.ClientUnaryCall;
              }
            ).Acquire(
              { scope: `mux/${i + 1}`, candidateId: 'a', leaseTtlMs: 5000 },
              new grpc.Metadata(),
              { deadline: Date.now() + 10_000 },
              (e, v) =>
                e === null ? resolve(v as { lease: { scope: string; fenceToken: string } }) : reject(e),
            );
            call.on('metadata', (m: grpc.Metadata) =>
              headers.push(String(m.get('x-omnirelay-forwarded-to')[0])),
            );
          }),
      ),
    );
    expect(answers.map((a) => [a.lease.scope, a.lease.fenceToken])).toEqual(
      Array.from({ length: 20 }, (_, i) => [`mux/${i + 1}`, String(i + 1)]),
    );
    expect(headers).toEqual(Array.from({ length: 20 }, () => 'n1'));
    expect(standIn.opened()).toBe(1);
    expect(standIn.messages()).toBeLessThanOrEqual(20);
    expect(direct).toBe(0);
  });

  it('records the hand-off and the relay of a forwarded call in the hop ledger, under its correlation id', async () => {
    hopLedger.enable();
    hopLedger.drain();
    behaviour = (call, answer) =>
      answer({ code: grpc.status.OK, response: acquireAnswer(decodeAcquire(call.request).scope, '4') });
    await unary(client, 'Acquire', {
      scope: 'mux/hops',
      candidateId: 'a',
      leaseTtlMs: 5000,
      correlationId: 'tag-1',
    });
    const steps = hopLedger
      .drain()
      .records.filter((r) => r.tag === 'tag-1' && r.step.startsWith('forward.'))
      .map((r) => [r.step, r.node, r.peer]);
    expect(steps).toEqual([
      ['forward.sent', 'f1', 'n1'],
      ['forward.relayed', 'f1', 'n1'],
    ]);
  });

  it("relays the leader's failure with its status, details and trailers", async () => {
    behaviour = (_call, answer) =>
      answer({
        code: grpc.status.FAILED_PRECONDITION,
        details: 'the fence is stale',
        trailers: { 'omnirelay-error-code': 'STALE_FENCE', 'omnirelay-current-fence-token': '12' },
      });
    const error = await failureOf(
      unary(client, 'Acquire', { scope: 'mux/fail', candidateId: 'a', leaseTtlMs: 5000 }),
    );
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error.details).toBe('the fence is stale');
    expect(errorCodeOf(error)).toBe('STALE_FENCE');
    expect(metadataOf(error, 'omnirelay-current-fence-token')).toBe('12');
  });

  it('answers UNAVAILABLE (outcome unknown) when the Forward call breaks after the call reached the leader', async () => {
    behaviour = (_call, _answer, stream) =>
      stream.emit('error', {
        code: grpc.status.UNAVAILABLE,
        details: 'stand-in broke',
        metadata: new grpc.Metadata(),
      });
    const error = await failureOf(
      unary(client, 'Acquire', { scope: 'mux/broken', candidateId: 'a', leaseTtlMs: 5000 }),
    );
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toMatch(/forwarded \(stand-in broke\); it may or may not have been applied/);
    // The next call opens a new Forward call.
    behaviour = (call, answer) =>
      answer({ code: grpc.status.OK, response: acquireAnswer(decodeAcquire(call.request).scope, '5') });
    const opened = standIn.opened();
    await expect(
      unary(client, 'Acquire', { scope: 'mux/again', candidateId: 'a', leaseTtlMs: 5000 }),
    ).resolves.toMatchObject({ lease: { fenceToken: '5' } });
    expect(standIn.opened()).toBe(opened + 1);
  });

  it('answers UNAVAILABLE (outcome unknown) once another leader is known and the grace passed, not at the call deadline', async () => {
    let arrived: () => void = () => undefined;
    const reachedLeader = new Promise<void>((resolve) => (arrived = resolve));
    behaviour = () => arrived(); // a frozen leader: it takes the call and never answers
    const started = Date.now();
    const call = failureOf(
      unary(client, 'Acquire', { scope: 'mux/deposed', candidateId: 'a', leaseTtlMs: 5000 }),
    );
    await reachedLeader;
    Object.assign(node, { leaderId: 'n2', membership: { voters: ['f1', 'n1', 'n2'], learners: [] } });
    node.emit('leader', 'n2', 2);
    const error = await call;
    Object.assign(node, { leaderId: 'n1' });
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toMatch(
      /n1\) lost office to n2 before it answered; it may or may not have been applied/,
    );
    expect(Date.now() - started).toBeLessThan(DEPOSED_LEADER_ANSWER_GRACE_MS + 5000);
  });

  it('still relays an answer the old leader sends just after the change', async () => {
    let held: HeldAnswer = () => undefined;
    let arrived: () => void = () => undefined;
    const reachedLeader = new Promise<void>((resolve) => (arrived = resolve));
    behaviour = (_call, answer) => {
      held = answer;
      arrived();
    };
    const call = unary(client, 'Acquire', { scope: 'mux/late', candidateId: 'a', leaseTtlMs: 5000 });
    await reachedLeader;
    Object.assign(node, { leaderId: 'n2', membership: { voters: ['f1', 'n1', 'n2'], learners: [] } });
    node.emit('leader', 'n2', 2);
    await new Promise((resolve) => setTimeout(resolve, DEPOSED_LEADER_ANSWER_GRACE_MS / 5));
    held({ code: grpc.status.OK, response: acquireAnswer('mux/late', '8') });
    await expect(call).resolves.toMatchObject({ lease: { fenceToken: '8' } });
    Object.assign(node, { leaderId: 'n1' });
  });
});

describe('writes held on a follower that knows no leader yet', () => {
  jest.setTimeout(30_000);
  let solo: SingleNode;

  beforeAll(async () => {
    solo = await startSingleNode();
  });
  afterAll(async () => {
    await solo.stop();
  });

  it('wait on the service’s one leader listener, not one each, and all go on at the next leader', async () => {
    const node = standInFollower('f1', '');
    const service = new LeadershipService(node, solo.server.stateMachine, solo.server.hub, () => ({}));
    const listeners = node.listenerCount('leader');
    const writes = Array.from({ length: 20 }, (_, i) =>
      service.acquire({ scope: `held/${i}`, candidateId: 'a', leaseTtlMs: 5000 }).then(
        () => 'applied',
        (e: unknown) => (e as { code?: string }).code,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(node.listenerCount('leader')).toBe(listeners);
    const changed = Date.now();
    Object.assign(node, { leaderId: 'n1' });
    node.emit('leader', 'n1', 2);
    expect(await Promise.all(writes)).toEqual(Array.from({ length: 20 }, () => 'NOT_LEADER'));
    // Woken by the change, not by the wait's bound (TRANSFER_WAIT_MS, 1 s).
    expect(Date.now() - changed).toBeLessThan(500);
  });
});
