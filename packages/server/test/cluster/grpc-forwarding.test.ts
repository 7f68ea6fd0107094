import * as grpc from '@grpc/grpc-js';
import type { LocalCluster } from '../../src/index';
import { loadPublicApi } from '../../src/index';
import type { ForwardedAnswer } from '../../src/grpc/forward-stream';
import type { Msg } from '../grpc/grpc-test-helpers';
import {
  StreamReader,
  WAIT_MS,
  errorCodeOf,
  failureOf,
  leaseOf,
  metadataOf,
} from '../grpc/grpc-test-helpers';
import { sampleOf } from '../metrics/exposition';
import { useLocalCluster, waitUntil } from './cluster-helpers';

jest.setTimeout(120_000);

const FORWARDED_BY = 'x-omnirelay-forwarded-by';
const FORWARDED_TO = 'x-omnirelay-forwarded-to';

/** Clients holds one client of each public service per node, made on first use and closed after the tests. */
class Clients {
  private readonly made = new Map<string, { leadership: grpc.Client; cluster: grpc.Client }>();

  constructor(private readonly cluster: () => LocalCluster) {}

  of(id: string): { leadership: grpc.Client; cluster: grpc.Client } {
    let c = this.made.get(id);
    if (c === undefined) {
      const api = loadPublicApi();
      const address = this.cluster().node(id).grpcAddress;
      c = {
        leadership: new api.leadership.Client(address, grpc.credentials.createInsecure()),
        cluster: new api.cluster.Client(address, grpc.credentials.createInsecure()),
      };
      this.made.set(id, c);
    }
    return c;
  }

  closeAll(): void {
    for (const c of this.made.values()) {
      c.leadership.close();
      c.cluster.close();
    }
    this.made.clear();
  }
}

type Fn = (...args: unknown[]) => unknown;

function methodOf(client: grpc.Client, name: string): Fn {
  const fn = (client as unknown as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`no method ${name}`);
  return (fn as Fn).bind(client);
}

/** Answer is a unary call's response with the headers it came with. */
interface Answer {
  readonly response: Msg;
  readonly headers: grpc.Metadata;
}

/** call makes a unary call with `metadata` and a deadline; it rejects with the call's ServiceError. */
function call(
  client: grpc.Client,
  name: string,
  request: object,
  metadata = new grpc.Metadata(),
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const c = methodOf(client, name)(
      request,
      metadata,
      { deadline: Date.now() + WAIT_MS },
      (error: grpc.ServiceError | null, response?: Msg) =>
        error === null ? resolve({ response: response ?? {}, headers }) : reject(error),
    ) as grpc.ClientUnaryCall;
    c.on('metadata', (m: grpc.Metadata) => (headers = m));
  });
}

function campaign(
  client: grpc.Client,
  request: object,
  metadata = new grpc.Metadata(),
): grpc.ClientReadableStream<Msg> {
  return methodOf(client, 'Campaign')(request, metadata, {
    deadline: Date.now() + WAIT_MS,
  }) as grpc.ClientReadableStream<Msg>;
}

function keepAlive(
  client: grpc.Client,
  metadata = new grpc.Metadata(),
): grpc.ClientDuplexStream<object, Msg> {
  return methodOf(client, 'KeepAlive')(metadata, {
    deadline: Date.now() + 4 * WAIT_MS,
  }) as grpc.ClientDuplexStream<object, Msg>;
}

function forwardedBy(id: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set(FORWARDED_BY, id);
  return m;
}

/** roles finds the leader and the followers, in id order. */
async function roles(cluster: LocalCluster): Promise<{ leader: string; followers: string[] }> {
  const leader = await cluster.waitForLeader(20_000);
  return { leader, followers: cluster.nodes.map((n) => n.id).filter((id) => id !== leader) };
}

/** forwardedCount reads a node's omnirelay_forwarded_requests_total for `edge` (undefined: no such series). */
async function forwardedCount(
  cluster: LocalCluster,
  id: string,
  edge: 'grpc' | 'http',
): Promise<number | undefined> {
  const res = await fetch(`http://${cluster.node(id).clientAddress}/metrics`);
  return sampleOf(await res.text(), 'omnirelay_forwarded_requests_total', { edge });
}

describe('gRPC calls that land on a follower of a 3-process cluster', () => {
  const cluster = useLocalCluster('grpc-forward', { size: 3 });
  const clients = new Clients(cluster);

  afterAll(() => clients.closeAll());

  it("forwards an Acquire and a linearizable read to the leader and relays the leader's answer", async () => {
    const { leader, followers } = await roles(cluster());
    const follower = followers[0]!;
    const acquired = await call(clients.of(follower).leadership, 'Acquire', {
      scope: 'fwd/acquire',
      candidateId: 'a',
      leaseTtlMs: 30_000,
    });
    expect(acquired.response).toMatchObject({ granted: true, lease: { candidateId: 'a' } });
    expect(BigInt(acquired.response['raftTerm'] as string)).toBeGreaterThan(0n);
    expect(acquired.headers.get(FORWARDED_TO)).toEqual([leader]);

    const read = await call(clients.of(follower).leadership, 'GetLeader', { scope: 'fwd/acquire' });
    expect(read.response).toMatchObject({ leader: { candidateId: 'a' } });
    expect(read.headers.get(FORWARDED_TO)).toEqual([leader]);
    expect(await forwardedCount(cluster(), follower, 'grpc')).toBeGreaterThanOrEqual(2);
  });

  it("relays the leader's refusal of a forwarded Resign with its status and trailers", async () => {
    const { followers } = await roles(cluster());
    const follower = followers[0]!;
    const acquired = await call(clients.of(follower).leadership, 'Acquire', {
      scope: 'fwd/stale',
      candidateId: 'a',
      leaseTtlMs: 30_000,
    });
    const fence = leaseOf(acquired.response, 'lease')['fenceToken'] as string;
    const error = await failureOf(
      call(clients.of(follower).leadership, 'Resign', {
        scope: 'fwd/stale',
        fenceToken: (BigInt(fence) - 1n).toString(),
      }),
    );
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorCodeOf(error)).toBe('STALE_FENCE');
    expect(metadataOf(error, 'omnirelay-current-fence-token')).toBe(fence);
    expect(error.details).toMatch(/fence/i);
  });

  /** waiterBehindHolder has `holder` acquire `scope` through node `holderVia`, then `waiter` campaign for it through `waiterVia`. */
  async function waiterBehindHolder(
    scope: string,
    holderVia: string,
    waiterVia: string,
  ): Promise<{ held: Answer; reader: StreamReader }> {
    const held = await call(clients.of(holderVia).leadership, 'Acquire', {
      scope,
      candidateId: 'holder',
      leaseTtlMs: 30_000,
    });
    const reader = new StreamReader(
      campaign(clients.of(waiterVia).leadership, { scope, candidateId: 'waiter', leaseTtlMs: 30_000 }),
    );
    return { held, reader };
  }

  it('proxies a Campaign: queued through a follower, then elected when the holder resigns', async () => {
    const { followers } = await roles(cluster());
    const [first, second] = followers as [string, string];
    const { held, reader } = await waiterBehindHolder('fwd/campaign', first, second);
    expect(await reader.next()).toMatchObject({ queued: { position: 0, holder: { candidateId: 'holder' } } });
    await call(clients.of(first).leadership, 'Resign', {
      scope: 'fwd/campaign',
      fenceToken: leaseOf(held.response, 'lease')['fenceToken'],
    });
    const elected = leaseOf(await reader.next(), 'elected');
    expect(leaseOf(elected, 'lease')).toMatchObject({ candidateId: 'waiter' });
    expect(BigInt(elected['raftTerm'] as string)).toBeGreaterThan(0n);
    expect((await reader.end()).error).toBeNull();
  });

  it('withdraws a candidate whose Campaign through a follower is cancelled', async () => {
    const { leader, followers } = await roles(cluster());
    const held = await call(clients.of(leader).leadership, 'Acquire', {
      scope: 'fwd/withdrawn',
      candidateId: 'holder',
      leaseTtlMs: 30_000,
    });
    const waitingOnLeader = async (): Promise<number> =>
      ((await cluster().get(leader, '/debug/state')).body as { waitingCount: number }).waitingCount;
    const before = await waitingOnLeader();
    const stream = campaign(clients.of(followers[0]!).leadership, {
      scope: 'fwd/withdrawn',
      candidateId: 'quitter',
      leaseTtlMs: 30_000,
    });
    const reader = new StreamReader(stream);
    expect(await reader.next()).toHaveProperty('queued');
    expect(await waitingOnLeader()).toBe(before + 1);
    stream.cancel();
    await waitUntil(
      'the cancelled candidate to leave the queue',
      async () => (await waitingOnLeader()) === before,
    );
    const resigned = await call(clients.of(leader).leadership, 'Resign', {
      scope: 'fwd/withdrawn',
      fenceToken: leaseOf(held.response, 'lease')['fenceToken'],
    });
    expect(resigned.response['successor']).toBeNull();
  });

  it('proxies a KeepAlive stream both ways for its life and ends it cleanly on half-close', async () => {
    const { leader, followers } = await roles(cluster());
    const follower = followers[1]!;
    const leases: Msg[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await call(clients.of(leader).leadership, 'Acquire', {
        scope: `fwd/ka/${i}`,
        candidateId: 'k',
        leaseTtlMs: 30_000,
      });
      leases.push(leaseOf(a.response, 'lease'));
    }
    const stream = keepAlive(clients.of(follower).leadership);
    const headers = new Promise<grpc.Metadata>((resolve) => stream.once('metadata', resolve));
    const reader = new StreamReader(stream);
    for (let round = 0; round < 3; round++) {
      stream.write({ leases: leases.map((l) => ({ scope: l['scope'], fenceToken: l['fenceToken'] })) });
      const results = (await reader.next())['results'] as Msg[];
      expect(results.map((r) => r['renewed'])).toEqual([true, true, true]);
    }
    expect((await headers).get(FORWARDED_TO)).toEqual([leader]);
    stream.end();
    expect((await reader.end()).error).toBeNull();
  });

  it('releases the lease of a holder whose forwarded KeepAlive stream is cancelled, well under its TTL', async () => {
    const { followers } = await roles(cluster());
    const follower = followers[0]!;
    const held = await call(clients.of(follower).leadership, 'Acquire', {
      scope: 'fwd/reset',
      candidateId: 'holder',
      leaseTtlMs: 5000,
    });
    const lease = leaseOf(held.response, 'lease');
    const stream = keepAlive(clients.of(follower).leadership);
    const reader = new StreamReader(stream);
    stream.write({
      leases: [{ scope: 'fwd/reset', fenceToken: lease['fenceToken'], releaseOnResetMs: 150 }],
    });
    expect(((await reader.next())['results'] as Msg[])[0]).toMatchObject({ renewed: true });
    const waiter = new StreamReader(
      campaign(clients.of(followers[1]!).leadership, {
        scope: 'fwd/reset',
        candidateId: 'successor',
        leaseTtlMs: 5000,
      }),
    );
    expect(await waiter.next()).toHaveProperty('queued');
    const resetAt = Date.now();
    stream.cancel();
    const elected = leaseOf(await waiter.next(), 'elected');
    const electedAfterMs = Date.now() - resetAt;
    if (process.env['PRINT_FIGURES'] === '1') {
      process.stdout.write(
        `release on reset through a follower: elected ${electedAfterMs} ms after the reset\n`,
      );
    }
    expect(leaseOf(elected, 'lease')).toMatchObject({ candidateId: 'successor' });
    expect(electedAfterMs).toBeLessThan(2000);
  });

  it("answers NOT_LEADER with the leader's gRPC address to a call that was already forwarded", async () => {
    const { leader, followers } = await roles(cluster());
    const follower = followers[0]!;
    const leaderGrpc = cluster().node(leader).grpcAddress;
    const error = await failureOf(
      call(
        clients.of(follower).leadership,
        'Acquire',
        { scope: 'fwd/looped', candidateId: 'a', leaseTtlMs: 30_000 },
        forwardedBy('n9'),
      ),
    );
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorCodeOf(error)).toBe('NOT_LEADER');
    expect(metadataOf(error, 'omnirelay-leader-hint')).toBe(leader);
    expect(metadataOf(error, 'omnirelay-leader-address')).toBe(leaderGrpc);

    // The streams are refused up front, the same way.
    const refusedCampaign = await new StreamReader(
      campaign(
        clients.of(follower).leadership,
        { scope: 'fwd/looped', candidateId: 'b', leaseTtlMs: 30_000 },
        forwardedBy('n9'),
      ),
    ).end();
    expect(refusedCampaign.error && errorCodeOf(refusedCampaign.error)).toBe('NOT_LEADER');
    expect(refusedCampaign.error && metadataOf(refusedCampaign.error, 'omnirelay-leader-address')).toBe(
      leaderGrpc,
    );
    const refusedKeepAlive = await new StreamReader(
      keepAlive(clients.of(follower).leadership, forwardedBy('n9')),
    ).end();
    expect(refusedKeepAlive.error && errorCodeOf(refusedKeepAlive.error)).toBe('NOT_LEADER');
  });

  it('counts the requests a follower forwards, by edge', async () => {
    const { followers } = await roles(cluster());
    const follower = followers[1]!;
    const grpcBefore = (await forwardedCount(cluster(), follower, 'grpc')) ?? Number.NaN;
    const httpBefore = (await forwardedCount(cluster(), follower, 'http')) ?? Number.NaN;
    await call(clients.of(follower).leadership, 'Acquire', {
      scope: 'fwd/counted',
      candidateId: 'a',
      leaseTtlMs: 30_000,
    });
    const res = await cluster().post(follower, '/leadership/acquire', {
      scope: 'fwd/counted-http',
      candidateId: 'a',
      leaseTtlMs: 30_000,
    });
    expect(res.status).toBe(200);
    expect(await forwardedCount(cluster(), follower, 'grpc')).toBe(grpcBefore + 1);
    expect(await forwardedCount(cluster(), follower, 'http')).toBe(httpBefore + 1);
  });

  it('forwards TransferLeadership, ends a proxied KeepAlive stream naming the new leader, and answers writes in the new term', async () => {
    const { leader, followers } = await roles(cluster());
    const [via, target] = followers as [string, string];
    const before = await call(clients.of(via).leadership, 'Acquire', {
      scope: 'fwd/term/before',
      candidateId: 'a',
      leaseTtlMs: 30_000,
    });
    const held = leaseOf(before.response, 'lease');
    const stream = keepAlive(clients.of(via).leadership);
    const reader = new StreamReader(stream);
    stream.write({ leases: [{ scope: held['scope'], fenceToken: held['fenceToken'] }] });
    expect(((await reader.next())['results'] as Msg[])[0]).toMatchObject({ renewed: true });

    const moved = await call(clients.of(via).cluster, 'TransferLeadership', { to: target });
    expect(moved.response).toMatchObject({ leader: target });
    expect(moved.headers.get(FORWARDED_TO)).toEqual([leader]);

    // The stream went to the old leader, which can renew nothing now: it ends, naming the new one.
    const { error } = await reader.end();
    expect(error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error && errorCodeOf(error)).toBe('NOT_LEADER');
    expect(error && metadataOf(error, 'omnirelay-leader-hint')).toBe(target);
    expect(error && metadataOf(error, 'omnirelay-leader-address')).toBe(cluster().node(target).grpcAddress);

    await waitUntil('every node to know the new leader', async () => (await cluster().leader()) === target);
    const after = await call(clients.of(via).leadership, 'Acquire', {
      scope: 'fwd/term/after',
      candidateId: 'a',
      leaseTtlMs: 30_000,
    });
    expect(after.headers.get(FORWARDED_TO)).toEqual([target]);
    expect(BigInt(after.response['raftTerm'] as string)).toBeGreaterThan(
      BigInt(before.response['raftTerm'] as string),
    );
  });

  it("serves a client's calls carried over Leadership.Calls on a follower as direct ones: forwarded to the leader, refusals relayed", async () => {
    const { leader, followers } = await roles(cluster());
    const follower = followers[0]!;
    const api = loadPublicApi();
    const definitions = { ...api.leadership.definition, ...api.cluster.definition };
    const calls = definitions['Calls']!;
    const before = (await forwardedCount(cluster(), follower, 'grpc')) ?? Number.NaN;
    // A client that claims to be a member forwarding: Calls ignores it (its calls are the client's own).
    const stream = clients
      .of(follower)
      .leadership.makeBidiStreamRequest(
        calls.path,
        calls.requestSerialize,
        calls.responseDeserialize as (b: Buffer) => { answers: ForwardedAnswer[] },
        forwardedBy('m9'),
        { deadline: Date.now() + WAIT_MS },
      );
    stream.on('error', () => undefined);
    const answers = new Map<number, ForwardedAnswer>();
    const got = new Promise<void>((resolve) =>
      stream.on('data', (m: { answers: ForwardedAnswer[] }) => {
        for (const a of m.answers) answers.set(a.id, a);
        if (answers.size === 2) resolve();
      }),
    );
    const encode = (method: string, request: object): Buffer =>
      definitions[method]!.requestSerialize(request);
    stream.write({
      calls: [
        {
          id: 1,
          method: 'Acquire',
          request: encode('Acquire', { scope: 'fwd/calls', candidateId: 'a', leaseTtlMs: 30_000 }),
          headers: {},
        },
        { id: 2, method: 'Status', request: encode('Status', {}), headers: {} },
      ],
    });
    await got;
    expect(answers.get(1)!.code).toBe(grpc.status.OK);
    const acquired = definitions['Acquire']!.responseDeserialize(answers.get(1)!.response!) as Msg;
    expect(acquired).toMatchObject({ granted: true, lease: { scope: 'fwd/calls', candidateId: 'a' } });
    // Status needs no leader: the follower answers it itself.
    const status = definitions['Status']!.responseDeserialize(answers.get(2)!.response!) as Msg;
    expect(status).toMatchObject({ nodeId: follower, leader });
    const fence = BigInt(leaseOf(acquired, 'lease')['fenceToken'] as string);
    const refused = new Promise<ForwardedAnswer>((resolve) =>
      stream.on('data', (m: { answers: ForwardedAnswer[] }) => {
        const a = m.answers.find((x) => x.id === 3);
        if (a !== undefined) resolve(a);
      }),
    );
    stream.write({
      calls: [
        {
          id: 3,
          method: 'Resign',
          request: encode('Resign', { scope: 'fwd/calls', fenceToken: (fence - 1n).toString() }),
          headers: {},
        },
      ],
    });
    const resign = await refused;
    stream.end();
    expect(resign.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(resign.trailers).toMatchObject({
      'omnirelay-error-code': 'STALE_FENCE',
      'omnirelay-current-fence-token': fence.toString(),
    });
    // Both writes went to the leader through the follower's forwarder.
    expect(await forwardedCount(cluster(), follower, 'grpc')).toBe(before + 2);
  });

  it('ends a Campaign proxied to a leader that lost office with NOT_LEADER, naming the new one', async () => {
    const { leader, followers } = await roles(cluster());
    const [via, target] = followers as [string, string];
    const { reader } = await waiterBehindHolder('fwd/term/campaign', leader, via);
    expect(await reader.next()).toHaveProperty('queued');

    await call(clients.of(leader).cluster, 'TransferLeadership', { to: target });

    // Left open, the campaign would wait on the old leader until its deadline: a frozen or deposed
    // leader elects nobody. It ends at once, so the client campaigns again on the new leader.
    const { error } = await reader.end();
    expect(error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error && errorCodeOf(error)).toBe('NOT_LEADER');
    expect(error && metadataOf(error, 'omnirelay-leader-hint')).toBe(target);
    expect(error && metadataOf(error, 'omnirelay-leader-address')).toBe(cluster().node(target).grpcAddress);
  });
});

describe('a follower without --peer-grpc', () => {
  const cluster = useLocalCluster('grpc-no-forward', { size: 3, extraArgs: ['--peer-grpc', ''] });
  const clients = new Clients(cluster);

  afterAll(() => clients.closeAll());

  it('answers NOT_LEADER with the leader hint instead of forwarding, for unary calls and streams', async () => {
    const { leader, followers } = await roles(cluster());
    const follower = followers[0]!;
    const error = await failureOf(
      call(clients.of(follower).leadership, 'Acquire', {
        scope: 'nofwd/a',
        candidateId: 'a',
        leaseTtlMs: 30_000,
      }),
    );
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorCodeOf(error)).toBe('NOT_LEADER');
    expect(metadataOf(error, 'omnirelay-leader-hint')).toBe(leader);
    // Its gRPC address is not configured; the HTTP one never goes into gRPC trailers.
    expect(metadataOf(error, 'omnirelay-leader-address')).toBeUndefined();
    const keepAliveEnd = await new StreamReader(keepAlive(clients.of(follower).leadership)).end();
    expect(keepAliveEnd.error && errorCodeOf(keepAliveEnd.error)).toBe('NOT_LEADER');
    expect(keepAliveEnd.error && metadataOf(keepAliveEnd.error, 'omnirelay-leader-hint')).toBe(leader);
    expect(await forwardedCount(cluster(), follower, 'grpc')).toBe(0);
  });
});

/**
 * A planned transfer hands the writes the old leader gets meanwhile to the target at once
 * (LeadershipService.handOff), which keeps them until it leads. The target is paused (SIGSTOP) to
 * hold the transfer open for as long as each test needs: it then cannot take office, so what the
 * old leader does with a write meanwhile is visible.
 */
describe('writes that reach the leader during a planned transfer (3 processes)', () => {
  // The leader gives a transfer one election timeout: 2 s, so the transfer is surely still under
  // way when each test's write arrives, however slowly the test machine answers /status.
  const cluster = useLocalCluster('grpc-hand-off', { size: 3, extraArgs: ['--election-timeout-ms', '2000'] });
  const clients = new Clients(cluster);
  let paused: number | undefined;

  afterEach(() => {
    if (paused !== undefined) process.kill(paused, 'SIGCONT');
    paused = undefined;
  });
  afterAll(() => clients.closeAll());

  /** steady waits until every node names the same leader, which leads, and returns the roles. */
  async function steady(): Promise<{ leader: string; followers: string[] }> {
    let found: { leader: string; followers: string[] } | undefined;
    await waitUntil('every node to follow one leader', async () => {
      const all = await Promise.all(cluster().nodes.map((n) => cluster().status(n.id)));
      const leader = all.find((s) => s?.role === 'leader')?.id;
      if (leader === undefined || !all.every((s) => s?.leader === leader)) return false;
      found = {
        leader,
        followers: cluster()
          .nodes.map((n) => n.id)
          .filter((id) => id !== leader),
      };
      return true;
    });
    return found!;
  }

  /**
   * transferToPaused picks a follower, pauses its process, and asks the leader to transfer to it
   * (not awaited). `before` runs first, `whilePaused` once the target is paused, before the request.
   */
  async function transferToPaused(
    hooks: {
      readonly before?: (leader: string, target: string) => Promise<unknown>;
      readonly whilePaused?: (leader: string, target: string) => Promise<unknown>;
    } = {},
  ): Promise<{ leader: string; target: string; moved: Promise<unknown> }> {
    const { leader, followers } = await steady();
    const target = followers[0]!;
    await hooks.before?.(leader, target);
    paused = cluster().node(target).process!.pid!;
    process.kill(paused, 'SIGSTOP');
    await hooks.whilePaused?.(leader, target);
    const moved = call(clients.of(leader).cluster, 'TransferLeadership', { to: target }).catch(
      (e: unknown) => e,
    );
    await waitUntil(
      'the leader to show the transfer under way',
      async () => (await cluster().status(leader))?.transferringTo === target,
      5000,
    );
    return { leader, target, moved };
  }

  function resume(): void {
    if (paused !== undefined) process.kill(paused, 'SIGCONT');
    paused = undefined;
  }

  it('hands the write to the target while the transfer is under way, and the target serves it in its first term', async () => {
    const { leader: first } = await steady();
    const before = await call(clients.of(first).leadership, 'Acquire', {
      scope: 'handoff/before',
      candidateId: 'a',
      leaseTtlMs: 30_000,
    });
    const forwardedBefore = (await forwardedCount(cluster(), first, 'grpc')) ?? Number.NaN;
    const { leader, target, moved } = await transferToPaused();
    expect(leader).toBe(first);
    const write = call(clients.of(leader).leadership, 'Acquire', {
      scope: 'handoff/during',
      candidateId: 'a',
      leaseTtlMs: 30_000,
    });
    // Raft refuses the write on the leader (TRANSFER_IN_PROGRESS); it goes to the paused target now,
    // not once the leader has learned of the target's term.
    await waitUntil(
      'the leader to forward the write to the target',
      async () => (await forwardedCount(cluster(), leader, 'grpc')) === forwardedBefore + 1,
      5000,
    );
    resume();
    const answer = await write;
    expect(answer.response).toMatchObject({ granted: true });
    expect(answer.headers.get(FORWARDED_TO)).toEqual([target]);
    expect(BigInt(answer.response['raftTerm'] as string)).toBeGreaterThan(
      BigInt(before.response['raftTerm'] as string),
    );
    await moved;
    await waitUntil('every node to know the new leader', async () => (await cluster().leader()) === target);
  });

  it('ends a write handed to a target that does not take office with UNAVAILABLE, not at its deadline', async () => {
    const { leader, target } = await transferToPaused();
    const sentAt = Date.now();
    const error = await failureOf(
      call(clients.of(leader).leadership, 'Acquire', {
        scope: 'handoff/stuck',
        candidateId: 'a',
        leaseTtlMs: 30_000,
      }),
    );
    const waitedMs = Date.now() - sentAt;
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toContain(`handed to ${target}, the target of a leadership transfer`);
    expect(error.details).toContain('may or may not have been applied');
    // HAND_OFF_ANSWER_MS_MAX is 2 s; the call's own deadline is WAIT_MS (10 s).
    expect(waitedMs).toBeLessThan(WAIT_MS / 2);
    resume();
    await steady();
  });

  it('answers a write the target itself forwarded NOT_LEADER naming the target at once, instead of holding it', async () => {
    const { leader, target } = await transferToPaused();
    const sentAt = Date.now();
    // As the target's edge sends it on: marked forwarded by the target.
    const refused = await failureOf(
      call(
        clients.of(leader).leadership,
        'Acquire',
        { scope: 'handback/refused', candidateId: 'a', leaseTtlMs: 30_000 },
        forwardedBy(target),
      ),
    );
    expect(errorCodeOf(refused)).toBe('NOT_LEADER');
    expect(metadataOf(refused, 'omnirelay-leader-hint')).toBe(target);
    expect(refused.details).toContain(`handing leadership to ${target}`);
    // Not held for the transfer (TRANSFER_WAIT_MS, 1 s, then TRANSFER_IN_PROGRESS), though the target is paused.
    expect(Date.now() - sentAt).toBeLessThan(900);
    resume();
    await steady();
  });

  it('serves a write the target forwarded during the transfer on the target itself, once the leader hands it back', async () => {
    let before: Awaited<ReturnType<typeof call>> | undefined;
    const { target, moved } = await transferToPaused({
      // Warm the client's channel to the target and the target's Forward stream to the leader.
      before: async (_leader, target) => {
        before = await call(clients.of(target).leadership, 'Acquire', {
          scope: 'handback/before',
          candidateId: 'a',
          leaseTtlMs: 30_000,
        });
      },
      // An entry the paused target lacks: the leader sends TimeoutNow only once the target has it,
      // so the target takes the client's write below, and forwards it, before it can campaign.
      whilePaused: (leader) =>
        call(clients.of(leader).leadership, 'Acquire', {
          scope: 'handback/lag',
          candidateId: 'a',
          leaseTtlMs: 30_000,
        }),
    });
    const write = call(clients.of(target).leadership, 'Acquire', {
      scope: 'handback/during',
      candidateId: 'a',
      leaseTtlMs: 30_000,
    });
    await new Promise((r) => setTimeout(r, 200));
    resume();
    // The target forwards the write to the leader, which refuses it (TRANSFER_IN_PROGRESS) and
    // hands it back; the target serves it once it leads. Before, the client got NOT_LEADER.
    const answer = await write;
    expect(answer.response).toMatchObject({ granted: true });
    expect(answer.headers.get(FORWARDED_TO)).toEqual([]);
    expect(BigInt(answer.response['raftTerm'] as string)).toBeGreaterThan(
      BigInt(before!.response['raftTerm'] as string),
    );
    await moved;
    await waitUntil('every node to know the new leader', async () => (await cluster().leader()) === target);
  });

  it('keeps a write forwarded by the leader a member follows until the leader changes, instead of sending it back', async () => {
    const { leader, followers } = await steady();
    const target = followers[0]!;
    // As the leader's hand-off sends it: to the member it moves leadership to, marked forwarded by the leader.
    const write = call(
      clients.of(target).leadership,
      'Acquire',
      { scope: 'handoff/kept', candidateId: 'a', leaseTtlMs: 30_000 },
      forwardedBy(leader),
    );
    await new Promise((r) => setTimeout(r, 100));
    await call(clients.of(leader).cluster, 'TransferLeadership', { to: target });
    const answer = await write;
    expect(answer.response).toMatchObject({ granted: true });
    // Served by the target itself, once it led: nothing forwarded it on.
    expect(answer.headers.get(FORWARDED_TO)).toEqual([]);

    // A member whose leader does not change answers NOT_LEADER after its wait.
    const { leader: now, followers: others } = await steady();
    const refused = await failureOf(
      call(
        clients.of(others[0]!).leadership,
        'Acquire',
        { scope: 'handoff/refused', candidateId: 'a', leaseTtlMs: 30_000 },
        forwardedBy(now),
      ),
    );
    expect(errorCodeOf(refused)).toBe('NOT_LEADER');
    expect(metadataOf(refused, 'omnirelay-leader-hint')).toBe(now);
  });
});
