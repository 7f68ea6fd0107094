import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import {
  CALLS_IN_FLIGHT_MAX,
  CALLS_MESSAGE_BYTES_MAX,
  CALLS_REFUSED_RETRY_MS,
  CallMux,
} from '../src/call-mux';
import type { OmniRelayClient } from '../src/index';
import { createClient, isOmniRelayError } from '../src/index';
import { bindLoopback, grantedAnswer, statusOf } from './support/fake-node';
import type { SoloCluster } from './support/solo';
import { startSolo } from './support/solo';

jest.setTimeout(30_000);

const TOKEN = 'call-mux-test-token-0123456789';

/** Carried is one call of a ForwardedCalls message, as the fake node decodes it. */
interface Carried {
  readonly id: number;
  readonly method: string;
  readonly request: Buffer;
  readonly headers: Record<string, string>;
}

/** Answer is one answer a fake node's Calls handler sends. */
interface Answer {
  readonly id: number;
  readonly code: number;
  readonly response?: Buffer;
  readonly details?: string;
  readonly trailers?: Record<string, string>;
}

type CallsStream = grpc.ServerDuplexStream<{ calls: Carried[] }, { answers: Answer[] }>;

/** FakeNode is a one-node "cluster" whose Calls handler the test writes. */
interface FakeNode {
  readonly address: string;
  readonly streams: CallsStream[];
  readonly messages: Carried[][];
  /** unary counts the Acquire calls made on their own. */
  unary: number;
  stop(): void;
}

const api = loadPublicApi();
const definitions = { ...api.leadership.definition, ...api.cluster.definition };
const statusAnswer = statusOf('n1', 'n1');

/** encodeStatus is the Status answer of the fake node, encoded as the Calls handler sends it. */
function statusBytes(): Buffer {
  let bytes: Buffer = Buffer.alloc(0);
  statusAnswer(undefined, (_e, value) => {
    bytes = definitions['Status']!.responseSerialize(value);
  });
  return bytes;
}

/**
 * fakeNode starts a node that answers Status and unary Acquire itself and hands each Calls
 * message to `onMessage` (which answers, or not). `onMessage` undefined: no Calls method.
 */
async function fakeNode(
  onMessage: ((stream: CallsStream, calls: Carried[], node: FakeNode) => void) | undefined,
): Promise<FakeNode> {
  const server = new grpc.Server();
  const node: FakeNode = {
    address: '',
    streams: [],
    messages: [],
    unary: 0,
    stop: () => server.forceShutdown(),
  };
  server.addService(api.leadership.definition, {
    Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) => {
      node.unary++;
      callback(null, grantedAnswer(call.request.scope, 40 + node.unary));
    },
    ...(onMessage === undefined
      ? {}
      : {
          Calls: (stream: CallsStream) => {
            node.streams.push(stream);
            stream.on('error', () => undefined);
            stream.on('data', (m: { calls: Carried[] }) => {
              node.messages.push(m.calls);
              onMessage(stream, m.calls, node);
            });
          },
        }),
  });
  server.addService(api.cluster.definition, { Status: statusAnswer });
  return Object.assign(node, { address: await bindLoopback(server) });
}

/** answerAll answers every call: Status as the fake node, Acquire granted (fence 7 + its id), others refused. */
function answerAll(stream: CallsStream, calls: Carried[]): void {
  stream.write({
    answers: calls.map((c): Answer => {
      if (c.method === 'Status') return { id: c.id, code: grpc.status.OK, response: statusBytes() };
      if (c.method === 'Acquire') {
        const { scope } = definitions['Acquire']!.requestDeserialize(c.request) as { scope: string };
        if (scope.startsWith('refuse/')) {
          return {
            id: c.id,
            code: grpc.status.FAILED_PRECONDITION,
            details: `the fence of ${scope} moved on`,
            trailers: { 'omnirelay-error-code': 'STALE_FENCE', 'omnirelay-current-fence-token': '99' },
          };
        }
        return {
          id: c.id,
          code: grpc.status.OK,
          response: definitions['Acquire']!.responseSerialize(grantedAnswer(scope, 7 + c.id)),
        };
      }
      return { id: c.id, code: grpc.status.UNIMPLEMENTED, details: `no ${c.method} here` };
    }),
  });
}

describe('unary calls carried over one Leadership.Calls call (CallMux)', () => {
  const nodes: FakeNode[] = [];
  const clients: OmniRelayClient[] = [];
  const start = async (onMessage: Parameters<typeof fakeNode>[0]): Promise<FakeNode> => {
    const node = await fakeNode(onMessage);
    nodes.push(node);
    return node;
  };
  const clientOf = (node: FakeNode, callTimeoutMs = 3000): OmniRelayClient => {
    const c = createClient({ endpoints: [node.address], callTimeoutMs, token: TOKEN, backoffMaxMs: 50 });
    clients.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const n of nodes.splice(0)) n.stop();
  });

  it('sends many calls on ONE Calls call, each with its method, request and token, and answers each by its id', async () => {
    const node = await start(answerAll);
    const client = clientOf(node);
    const leases = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.acquire(`mux/${i}`, { ttlMs: 60_000 })),
    );
    expect(leases.map((l) => l?.scope)).toEqual(Array.from({ length: 20 }, (_, i) => `mux/${i}`));
    expect(node.streams).toHaveLength(1);
    expect(node.unary).toBe(0);
    const carried = node.messages.flat();
    const acquires = carried.filter((c) => c.method === 'Acquire');
    expect(acquires).toHaveLength(20);
    // Calls made in one turn leave in one message.
    expect(node.messages.length).toBeLessThan(carried.length);
    for (const c of carried) expect(c.headers).toEqual({ authorization: `Bearer ${TOKEN}` });
    // Each lease got the fence of its own answer (7 + the id the client gave its call).
    for (const lease of leases) {
      const sent = acquires.find(
        (c) =>
          (definitions['Acquire']!.requestDeserialize(c.request) as { scope: string }).scope === lease!.scope,
      )!;
      expect(lease!.fence).toBe(BigInt(7 + sent.id));
    }
  });

  it('turns a refusal into the same OmniRelayError as a call made on its own: code, message and trailers', async () => {
    const node = await start(answerAll);
    const client = clientOf(node);
    const error = await client.acquire('refuse/x', { ttlMs: 60_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isOmniRelayError(error) && error.code).toBe('STALE_FENCE');
    expect(isOmniRelayError(error) && error.message).toMatch(/the fence of refuse\/x moved on/);
    expect(isOmniRelayError(error) && error.details.currentFenceToken).toBe(99n);
  });

  it('ends a call the node leaves unanswered with DEADLINE_EXCEEDED at its deadline, and keeps the Calls call for the others', async () => {
    const node = await start((stream, calls) =>
      answerAll(
        stream,
        calls.filter(
          (c) =>
            c.method !== 'Acquire' ||
            !(definitions['Acquire']!.requestDeserialize(c.request) as { scope: string }).scope.startsWith(
              'silent/',
            ),
        ),
      ),
    );
    const client = clientOf(node, 400);
    const startedAt = Date.now();
    const error = await client.acquire('silent/x', { ttlMs: 60_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const waitedMs = Date.now() - startedAt;
    expect(isOmniRelayError(error) && error.code).toBe('DEADLINE_EXCEEDED');
    expect(waitedMs).toBeGreaterThanOrEqual(350);
    expect(waitedMs).toBeLessThan(3000);
    expect((await client.acquire('loud/x', { ttlMs: 60_000 }))?.scope).toBe('loud/x');
    expect(node.streams).toHaveLength(1);
  });

  it('fails a call whose Calls call broke under it as a unary call whose connection dropped, and opens a new one for the next', async () => {
    let broken = 0;
    const node = await start((stream, calls) => {
      if (broken === 0 && calls.some((c) => c.method === 'Acquire')) {
        broken++;
        stream.emit('error', { code: grpc.status.UNAVAILABLE, details: 'connection dropped' });
        return;
      }
      answerAll(stream, calls);
    });
    const client = clientOf(node);
    // An acquire goes again after an attempt that got no answer (the cluster dedups it by session).
    const lease = await client.acquire('broken/x', { ttlMs: 60_000 });
    expect(lease?.scope).toBe('broken/x');
    expect(broken).toBe(1);
    expect(node.streams.length).toBe(2);
    expect(node.unary).toBe(0);
  });

  it('makes each call on its own to a node without Calls, and does not ask it again for a while', async () => {
    const node = await start(undefined);
    const client = clientOf(node);
    for (let i = 0; i < 5; i++)
      expect((await client.acquire(`old/${i}`, { ttlMs: 60_000 }))?.scope).toBe(`old/${i}`);
    expect(node.unary).toBe(5);
  });

  it('makes each call on its own when the node refuses the Calls call itself (RESOURCE_EXHAUSTED: its stream limits)', async () => {
    let opened = 0;
    const node = await start((stream) => {
      opened++;
      stream.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many streams' });
    });
    const client = clientOf(node);
    for (let i = 0; i < 5; i++)
      expect((await client.acquire(`full/${i}`, { ttlMs: 60_000 }))?.scope).toBe(`full/${i}`);
    expect(node.unary).toBe(5);
    // Refused once (the first call), then left alone for CALLS_REFUSED_RETRY_MS.
    expect(opened).toBe(1);
    expect(CALLS_REFUSED_RETRY_MS).toBeGreaterThan(1000);
  });

  it('ends a call its caller aborts with CANCELLED at once', async () => {
    const node = await start(() => undefined);
    const client = clientOf(node, 10_000);
    const abort = new AbortController();
    const pending = client.status({ signal: abort.signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    setTimeout(() => abort.abort(), 50);
    const startedAt = Date.now();
    const error = await pending;
    expect(isOmniRelayError(error) && error.code).toBe('CANCELLED');
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });
});

describe('CallMux bounds', () => {
  /** stubMux is a CallMux over a stand-in channel that records what its one call writes. */
  function stubMux(): { mux: CallMux; written: Array<{ calls: Array<{ request: Buffer }> }> } {
    const written: Array<{ calls: Array<{ request: Buffer }> }> = [];
    const stream = {
      write: (m: (typeof written)[number]) => written.push(m),
      on: () => stream,
      cancel: () => undefined,
    };
    const client = { makeBidiStreamRequest: () => stream } as unknown as grpc.Client;
    return { mux: new CallMux(client, definitions['Calls']!), written };
  }

  it('takes no call past CALLS_IN_FLIGHT_MAX waiting, nor a request over CALLS_MESSAGE_BYTES_MAX (those go on their own)', () => {
    const { mux } = stubMux();
    expect(mux.takes(CALLS_MESSAGE_BYTES_MAX)).toBe(true);
    expect(mux.takes(CALLS_MESSAGE_BYTES_MAX + 1)).toBe(false);
    const ids: number[] = [];
    for (let i = 0; i < CALLS_IN_FLIGHT_MAX; i++)
      ids.push(mux.send('Status', Buffer.alloc(1), {}, () => undefined));
    expect(mux.takes(1)).toBe(false);
    mux.forget(ids[0]!);
    expect(mux.takes(1)).toBe(true);
  });

  it('splits the calls of one turn into messages of at most CALLS_MESSAGE_BYTES_MAX of requests', async () => {
    const { mux, written } = stubMux();
    const third = Math.floor(CALLS_MESSAGE_BYTES_MAX / 3);
    for (let i = 0; i < 7; i++) mux.send('Acquire', Buffer.alloc(third + 1), {}, () => undefined);
    await Promise.resolve();
    expect(written.map((m) => m.calls.length)).toEqual([2, 2, 2, 1]);
    for (const m of written) {
      expect(m.calls.reduce((n, c) => n + c.request.length, 0)).toBeLessThanOrEqual(CALLS_MESSAGE_BYTES_MAX);
    }
  });
});

/**
 * Against a real node, every call ends the same whether carried or made on its own: the
 * outcomes of a sequence of good and bad calls are compared field by field.
 */
describe('a real node answers carried calls exactly as calls made on their own', () => {
  let solo: SoloCluster;
  beforeAll(async () => {
    solo = await startSolo();
  });
  afterAll(async () => {
    await solo.stop();
  });

  async function outcomes(multiplexCalls: boolean, tag: string): Promise<unknown[]> {
    const client = solo.client({ multiplexCalls });
    const other = solo.client({ multiplexCalls });
    const settle = async (p: Promise<unknown>): Promise<unknown> =>
      p.then(
        (v) => ({ ok: v }),
        (e: unknown) =>
          isOmniRelayError(e)
            ? {
                code: e.code,
                message: e.message.replaceAll(tag, 'T'),
                details: Object.keys(e.details).sort(),
              }
            : { thrown: String(e) },
      );
    const held = await client.acquire(`${tag}/held`, { ttlMs: 60_000 });
    const out: unknown[] = [];
    out.push(
      await settle(
        client
          .acquire(`${tag}/a`, { ttlMs: 60_000 })
          .then((l) => ({ scope: l?.scope.replace(tag, 'T'), granted: l !== null })),
      ),
    );
    out.push(await settle(other.acquire(`${tag}/held`, { ttlMs: 60_000 }).then((l) => l)));
    out.push(await settle(client.acquire('', { ttlMs: 60_000 })));
    out.push(await settle(client.acquire(`${tag}/ttl`, { ttlMs: 1 })));
    out.push(await settle(client.getLeader(`${tag}/held`).then((v) => v?.scope.replace(tag, 'T'))));
    out.push(
      await settle(
        client
          .validateFence(`${tag}/held`, held!.fence)
          .then((v) => ({ valid: v.valid, current: v.current !== null })),
      ),
    );
    out.push(
      await settle(
        client
          .validateFence(`${tag}/held`, held!.fence + 5n)
          .then((v) => ({ valid: v.valid, current: v.current !== null })),
      ),
    );
    out.push(await settle(held!.resign()));
    out.push(await settle(client.status().then((s) => ({ role: s.role, leader: s.leader !== '' }))));
    return out;
  }

  it('acquires, refusals, reads, fence checks, resigns and status', async () => {
    const carried = await outcomes(true, 'carried');
    const own = await outcomes(false, 'own');
    expect(carried).toEqual(own);
    // The sequence did reach the node's own refusals, not only successes.
    expect(JSON.stringify(carried)).toMatch(/INVALID_SCOPE/);
  });
});
