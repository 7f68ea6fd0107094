import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import { bindLoopback, fakeWireLease } from './support/fake-node';
import { rejectionOf, waitFor } from './support/solo';
import type { ClientOptions, OmniRelayClient } from '../src/index';
import { createClient, isOmniRelayError } from '../src/index';

/** TOKEN is a well-formed bearer token (what `omnirelay token create` mints looks like it). */
const TOKEN = 'omr_qpK1b2Z3-x_yW9vT8sR7aQ6pL5oN4mK3';

/** Seen is one call or stream a fake node received: which method, from which node, with which authorization. */
interface Seen {
  readonly node: string;
  readonly method: string;
  readonly authorization: string;
}

/**
 * startFakeNode serves the public API's Leadership and Cluster services on 127.0.0.1 with canned
 * answers, as node `nodeId` of a cluster led by `leaderId`, and records the `authorization` of
 * every call and stream into `seen`. Its first Watch and each KeepAlive end after one answer, so
 * the client has to open them again (a reconnect).
 */
async function startFakeNode(
  nodeId: string,
  leaderId: string,
  seen: Seen[],
): Promise<{ server: grpc.Server; address: string }> {
  const api = loadPublicApi();
  const record = (method: string, call: { metadata: grpc.Metadata }): void => {
    seen.push({ node: nodeId, method, authorization: String(call.metadata.get('authorization')[0] ?? '') });
  };
  const unary =
    (method: string, answer: (request: Record<string, unknown>) => object) =>
    (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, callback: grpc.sendUnaryData<object>) => {
      record(method, call);
      callback(null, answer(call.request));
    };
  let watches = 0;
  const server = new grpc.Server();
  server.addService(api.leadership.definition, {
    Acquire: unary('Acquire', (r) => ({
      granted: true,
      alreadyHolder: false,
      raftTerm: 1,
      lease: fakeWireLease(String(r['scope']), 7, 'token-test'),
    })),
    GetLeader: unary('GetLeader', (r) => ({
      scope: r['scope'],
      leader: fakeWireLease(String(r['scope']), 7, 'token-test'),
    })),
    ValidateFence: unary('ValidateFence', (r) => ({ scope: r['scope'], valid: true })),
    Resign: unary('Resign', (r) => ({ scope: r['scope'], raftTerm: 1 })),
    Campaign: (call: grpc.ServerWritableStream<Record<string, unknown>, object>) => {
      record('Campaign', call);
      call.write({ queued: { position: 0, alreadyWaiting: false } });
      call.write({
        elected: { lease: fakeWireLease(String(call.request['scope']), 8, 'token-test'), raftTerm: 1 },
      });
    },
    KeepAlive: (
      call: grpc.ServerDuplexStream<{ leases: { scope: string; fenceToken: string }[] }, object>,
    ) => {
      record('KeepAlive', call);
      call.on('data', (request: { leases: { scope: string; fenceToken: string }[] }) => {
        call.write({
          results: request.leases.map((l) => ({
            scope: l.scope,
            fenceToken: l.fenceToken,
            renewed: true,
            deadlineMs: Date.now() + 60_000,
          })),
        });
        call.end();
      });
      call.on('error', () => undefined);
    },
    Watch: (call: grpc.ServerWritableStream<{ prefix: string }, object>) => {
      record('Watch', call);
      if (watches++ === 0) {
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: `${nodeId} is restarting` });
        return;
      }
      call.write({
        revision: 9,
        events: [
          {
            revision: 9,
            scope: 'token/watched',
            scopeTerm: 1,
            reason: 'HOLDER_CHANGE_REASON_GRANTED',
            holder: fakeWireLease('token/watched', 9, 'token-test'),
            raftTerm: 1,
            proposerId: leaderId,
            stampMs: Date.now(),
          },
        ],
      });
    },
  });
  server.addService(api.cluster.definition, {
    Status: unary('Status', () => ({
      nodeId,
      role: nodeId === leaderId ? 'leader' : 'follower',
      term: 1,
      leader: leaderId,
      commit: 8,
      applied: 8,
      members: [],
    })),
    Members: unary('Members', () => ({ nodeId, leader: leaderId, members: [] })),
  });
  return { server, address: await bindLoopback(server) };
}

/** exerciseEveryCallKind runs unary calls on both nodes, a campaign, two KeepAlive streams and a watch that reconnects. */
async function exerciseEveryCallKind(client: OmniRelayClient): Promise<void> {
  expect((await client.statusAll()).every((s) => !('error' in s))).toBe(true);
  const lease = await client.acquire('token/acquired', { ttlMs: 60_000 });
  expect(lease).not.toBeNull();
  await client.getLeader('token/acquired');
  await client.validateFence('token/acquired', 7n);
  await client.members();
  await client.renew(lease!); // opens a KeepAlive stream, which the node ends after its answer
  await client.renew(lease!); // so this one opens a second stream
  const elected = await client.campaign('token/campaigned', { ttlMs: 60_000 });
  for await (const event of client.watch('token/', { signal: AbortSignal.timeout(10_000) })) {
    expect(event.scope).toBe('token/watched');
    break;
  }
  await lease!.resign();
  await elected.resign();
}

describe('bearer token', () => {
  const seen: Seen[] = [];
  const servers: grpc.Server[] = [];
  const clients: OmniRelayClient[] = [];
  let endpoints: string[] = [];

  beforeAll(async () => {
    const a = await startFakeNode('a', 'a', seen);
    const b = await startFakeNode('b', 'a', seen);
    servers.push(a.server, b.server);
    endpoints = [a.address, b.address];
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    seen.length = 0;
  });

  afterAll(() => {
    for (const s of servers) s.forceShutdown();
  });

  function client(options: Partial<ClientOptions>): OmniRelayClient {
    const c = createClient({
      endpoints,
      callTimeoutMs: 3000,
      backoffBaseMs: 5,
      backoffMaxMs: 20,
      ...options,
    });
    clients.push(c);
    return c;
  }

  it('is sent on every unary call, Campaign, KeepAlive and Watch, to every node and on reconnects', async () => {
    await exerciseEveryCallKind(client({ token: TOKEN }));
    const methods = new Set(seen.map((s) => s.method));
    for (const method of [
      'Status',
      'Acquire',
      'GetLeader',
      'ValidateFence',
      'Members',
      'KeepAlive',
      'Campaign',
      'Watch',
      'Resign',
    ]) {
      expect(methods).toContain(method);
    }
    expect(new Set(seen.map((s) => s.node))).toEqual(new Set(['a', 'b']));
    expect(seen.filter((s) => s.method === 'KeepAlive').length).toBeGreaterThanOrEqual(2);
    // The first Watch failed on one node; the watch resumed on the other.
    expect(new Set(seen.filter((s) => s.method === 'Watch').map((s) => s.node))).toEqual(new Set(['a', 'b']));
    expect(seen.filter((s) => s.authorization !== `Bearer ${TOKEN}`)).toEqual([]);
  });

  it('is not sent when no token is given', async () => {
    await client({}).status();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s.authorization !== '')).toEqual([]);
  });

  it('is read from a token function for each call and stream, so a rotated token applies without a new client', async () => {
    let current = `${TOKEN}-1`;
    const c = client({ token: () => current });
    await exerciseEveryCallKind(c);
    expect(seen.filter((s) => s.authorization !== `Bearer ${TOKEN}-1`)).toEqual([]);

    seen.length = 0;
    current = `${TOKEN}-2`;
    await exerciseEveryCallKind(c);
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.filter((s) => s.authorization !== `Bearer ${TOKEN}-2`)).toEqual([]);
  });

  it.each([
    ['too short', 'short-token'],
    ['too long', 'x'.repeat(513)],
    ['with a trailing line break', `${TOKEN}\n`],
    ['with a space', 'omr_abcdefgh ijklmnopq'],
    ['with a character outside the charset', 'omr_abcdefgh!ijklmnopq'],
    ['empty', ''],
  ])('refuses a token %s up front with INVALID_ARGUMENT, without naming it', (_what, token) => {
    let error: unknown;
    try {
      createClient({ endpoints, token });
    } catch (e) {
      error = e;
    }
    expect(isOmniRelayError(error, 'INVALID_ARGUMENT')).toBe(true);
    const message = (error as Error).message;
    expect(message).toMatch(/^token has /);
    if (token.length >= 4) expect(message).not.toContain(token.trim());
  });

  it('refuses a token that is neither a string nor a function', () => {
    expect(() => createClient({ endpoints, token: 42 as unknown as string })).toThrow(
      /token is not a string \(got number\)/,
    );
  });

  it('fails calls and streams with INVALID_ARGUMENT and sends nothing when the token function throws or returns a bad token', async () => {
    const secret = 'omr_rotated but broken';
    let provide: () => string = () => TOKEN;
    const c = client({ token: () => provide() });
    const lease = await c.acquire('token/held', { ttlMs: 60_000 });
    expect(lease).not.toBeNull();
    seen.length = 0;

    provide = () => secret;
    const calls: [string, Promise<unknown>][] = [
      ['status', c.status()],
      ['acquire', c.acquire('token/other', { ttlMs: 60_000 })],
      ['getLeader', c.getLeader('token/held')],
      ['renew', c.renew(lease!)],
      ['campaign', c.campaign('token/campaigned', { ttlMs: 60_000 })],
      [
        'watch',
        (async () => {
          for await (const event of c.watch('token/', { signal: AbortSignal.timeout(10_000) })) return event;
          return undefined;
        })(),
      ],
    ];
    // Every outcome is collected before any is checked, so a failed check leaves no rejection unhandled.
    const outcomes = await Promise.all(
      calls.map(async ([what, call]) => {
        try {
          await call;
          return { what, code: 'resolved', message: '' };
        } catch (e) {
          return { what, code: (e as { code?: string }).code, message: (e as Error).message };
        }
      }),
    );
    for (const { what, code, message } of outcomes) {
      expect({ what, code }).toEqual({ what, code: 'INVALID_ARGUMENT' });
      expect(message).toMatch(/the token the token function returned has a space/);
      expect(message).not.toContain(secret);
    }

    provide = () => {
      throw new Error('the vault is sealed');
    };
    const thrown = await rejectionOf(c.getLeader('token/held'));
    expect(thrown.code).toBe('INVALID_ARGUMENT');
    expect(thrown.message).toMatch(/the token function threw/);
    expect((thrown as { cause?: Error }).cause?.message).toBe('the vault is sealed');
    expect(seen).toEqual([]);

    // Once the function answers again, so do the calls (the lease's stream reopens too).
    provide = () => TOKEN;
    await c.renew(lease!);
    await waitFor('a KeepAlive with the token', () =>
      seen.some((s) => s.method === 'KeepAlive' && s.authorization === `Bearer ${TOKEN}`),
    );
  });
});
