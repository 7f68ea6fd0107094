import type { ServerResponse } from 'node:http';
import pino from 'pino';
import { ServerError } from '../../src/errors/error-table';
import { sendError } from '../../src/http/http-server';
import type { OmniRelayServer } from '../../src/index';
import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';

interface Reply {
  status: number;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

describe('the client HTTP port of a single node', () => {
  jest.setTimeout(30_000);
  let node: SingleNode;
  let server: OmniRelayServer;

  beforeAll(async () => {
    node = await startSingleNode(['--http-body-bytes-max', '2048', '--watch-history-events-max', '100']);
    server = node.server;
  });

  afterAll(async () => {
    await node.stop();
  });

  async function call(method: string, path: string, body?: unknown): Promise<Reply> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await fetch(`http://${server.http.address}${path}`, init);
    return { status: res.status, json: (await res.json()) as Reply['json'] };
  }

  /** leadershipView is everything a client can see of who holds what (the applied index may move). */
  async function leadershipView(): Promise<string> {
    const holders = (await call('GET', '/control/leaders?consistency=serializable&limit=1000')).json;
    const { leaseCount, scopeCount, waitingCount } = (await call('GET', '/debug/state')).json;
    return JSON.stringify({ holders, leaseCount, scopeCount, waitingCount });
  }

  it('grants a scope, names the holder to a second candidate, and lists and validates it', async () => {
    const granted = await call('POST', '/leadership/acquire', {
      scope: 'global-control',
      candidateId: 'a',
      leaseTtlMs: 60_000,
    });
    expect(granted.status).toBe(200);
    const lease = granted.json['lease'] as { fenceToken: string; leaderId: string };
    expect(lease.leaderId).toBe('a');
    expect(lease.fenceToken).toMatch(/^\d+$/);

    const refused = await call('POST', '/leadership/acquire', {
      scope: 'global-control',
      candidateId: 'b',
      leaseTtlMs: 60_000,
    });
    expect(refused.json).toMatchObject({ granted: false, holder: { leaderId: 'a' } });

    const one = await call('GET', '/control/leaders?scope=global-control');
    expect(one.json).toMatchObject({
      scope: 'global-control',
      leader: { leaderId: 'a', fenceToken: lease.fenceToken },
    });
    const all = await call('GET', '/control/leaders?consistency=serializable');
    expect((all.json['holders'] as unknown[]).length).toBeGreaterThanOrEqual(1);

    expect(
      (await call('POST', '/fence-token/validate', { scope: 'global-control', fenceToken: lease.fenceToken }))
        .json,
    ).toMatchObject({ valid: true });
    const stale = await call('POST', '/fence-token/validate', { scope: 'global-control', fenceToken: '1' });
    expect(stale.json).toMatchObject({ valid: false, current: { fenceToken: lease.fenceToken } });
  });

  it('gives a lease back to the session that holds it, and refuses the same candidate without one', async () => {
    const body = { scope: 'http/session', candidateId: 'w', sessionId: 'http-session-1', leaseTtlMs: 60_000 };
    const granted = await call('POST', '/leadership/acquire', body);
    const lease = granted.json['lease'] as { fenceToken: string; sessionId: string };
    expect(lease.sessionId).toBe('http-session-1');
    const retry = await call('POST', '/leadership/acquire', body);
    expect(retry.json).toMatchObject({ granted: true, alreadyHolder: true, lease });
    const { sessionId: _omitted, ...sessionless } = body;
    const refused = await call('POST', '/leadership/acquire', sessionless);
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatchObject({
      code: 'HELD_BY_OTHER_SESSION',
      scope: 'http/session',
      field: 'candidateId',
    });
  });

  it('steps a holder down to a named successor, with one audit event', async () => {
    const a = await call('POST', '/leadership/acquire', {
      scope: 'shard/orders/7',
      candidateId: 'a',
      leaseTtlMs: 60_000,
    });
    const fence = (a.json['lease'] as { fenceToken: string }).fenceToken;
    const res = await call('POST', '/leadership/stepdown', {
      scope: 'shard/orders/7',
      to: 'b',
      leaseTtlMs: 30_000,
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      previousHolder: { leaderId: 'a', fenceToken: fence },
      successor: { leaderId: 'b' },
    });
  });

  it('streams events over SSE and resumes after Last-Event-ID', async () => {
    const first = await call('POST', '/leadership/acquire', {
      scope: 'sse/1',
      candidateId: 'a',
      leaseTtlMs: 60_000,
    });
    const revision = Number((first.json['lease'] as { revision: number }).revision);
    await call('POST', '/leadership/acquire', { scope: 'sse/2', candidateId: 'a', leaseTtlMs: 60_000 });
    const controller = new AbortController();
    const res = await fetch(`http://${server.http.address}/control/events/leadership?prefix=sse/`, {
      headers: { 'last-event-id': String(revision) },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes('"sse/2"') && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += Buffer.from(chunk.value).toString();
    }
    controller.abort();
    expect(text).toContain('"sse/2"');
    expect(text).not.toContain('"sse/1"');
    expect(text).toMatch(/id: \d+\nevent: leadership\ndata: /);
  });

  it('answers a watch from a compacted revision with 410 and the oldest available', async () => {
    for (let i = 0; i < 120; i++)
      await call('POST', '/leadership/acquire', {
        scope: `compact/${i}`,
        candidateId: 'a',
        leaseTtlMs: 60_000,
      });
    const res = await call('GET', '/control/events/leadership?fromRevision=1');
    expect(res.status).toBe(410);
    expect(res.json.error?.code).toBe('COMPACTED');
    expect(res.json.error?.message).toMatch(/oldest available is \d+/);
  });

  it.each([
    ['malformed JSON', '/leadership/acquire', '{"scope":', 400, 'INVALID_ARGUMENT'],
    [
      'an invalid scope',
      '/leadership/acquire',
      { scope: 'Bad Scope!', candidateId: 'a', leaseTtlMs: 60_000 },
      400,
      'INVALID_SCOPE',
    ],
    [
      'a TTL out of range',
      '/leadership/acquire',
      { scope: 'ttl/x', candidateId: 'a', leaseTtlMs: 10 },
      400,
      'TTL_OUT_OF_RANGE',
    ],
    [
      'oversized metadata',
      '/leadership/acquire',
      { scope: 'md/x', candidateId: 'a', leaseTtlMs: 60_000, metadata: 'x'.repeat(1500) },
      400,
      'METADATA_TOO_LARGE',
    ],
    [
      'an unknown field',
      '/leadership/acquire',
      { scope: 'u/x', candidateId: 'a', leaseTtlMs: 60_000, ttl: 5 },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'an unknown field type',
      '/leadership/acquire',
      { scope: 'f/x', candidateId: 7, leaseTtlMs: 60_000 },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'a session id outside the rules',
      '/leadership/acquire',
      { scope: 's/x', candidateId: 'a', sessionId: 'no spaces', leaseTtlMs: 60_000 },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'a session id that is not a string',
      '/leadership/acquire',
      { scope: 's/x', candidateId: 'a', sessionId: 42, leaseTtlMs: 60_000 },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      "the holder's candidate id in another session",
      '/leadership/acquire',
      { scope: 'global-control', candidateId: 'a', sessionId: 'other', leaseTtlMs: 60_000 },
      409,
      'HELD_BY_OTHER_SESSION',
    ],
    [
      'a stale fence on resign',
      '/leadership/resign',
      { scope: 'global-control', fenceToken: '1' },
      409,
      'STALE_FENCE',
    ],
    [
      'a fence that is not a uint64',
      '/fence-token/validate',
      { scope: 'global-control', fenceToken: '-5' },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'a body over the limit',
      '/leadership/acquire',
      { scope: 'big/x', candidateId: 'a', leaseTtlMs: 60_000, metadata: 'x'.repeat(4000) },
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ])('refuses %s with a JSON error and changes nothing', async (_what, path, body, status, code) => {
    const before = await leadershipView();
    const res = await call('POST', path, body);
    expect(res.status).toBe(status);
    expect(res.json.error?.code).toBe(code);
    expect(res.json.error?.message.length).toBeGreaterThan(10);
    expect(await leadershipView()).toBe(before);
  });

  it('answers an unknown route with 404 and a wrong method with 400 naming the right one', async () => {
    expect((await call('GET', '/nope')).json.error?.code).toBe('NOT_FOUND');
    const wrong = await call('DELETE', '/status');
    expect(wrong.status).toBe(400);
    expect(wrong.json.error?.message).toMatch(/use GET \/status/);
  });

  it('serves Prometheus metrics with the seed names, counting stale fences and no per-scope labels', async () => {
    await call('POST', '/fence-token/validate', { scope: 'global-control', fenceToken: '1' });
    const res = await fetch(`http://${server.http.address}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^mesh_leadership_transitions_total\{reason="granted"\} [1-9]/m);
    expect(text).toMatch(/^mesh_leadership_split_brain_total\{kind="validate"\} [1-9]/m);
    expect(text).toMatch(/^# TYPE mesh_leadership_election_duration_ms histogram/m);
    expect(text).toMatch(/^omnirelay_raft_is_leader 1/m);
    expect(text).not.toMatch(/scope="/);
  });

  it('answers GET /debug/hops with 404 and how to turn the ledger on when it is off (the default)', async () => {
    const r = await call('GET', '/debug/hops');
    expect(r.status).toBe(404);
    expect(r.json.error?.code).toBe('NOT_FOUND');
    expect(r.json.error?.message).toContain('--hop-ledger true');
  });

  it('answers /status, /healthz and /readyz', async () => {
    expect((await call('GET', '/status')).json).toMatchObject({
      id: 'solo',
      role: 'leader',
      leader: 'solo',
      leadership: { leases: expect.any(Number) as number },
    });
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
  });
});

describe('sendError', () => {
  /** answer is what sendError wrote on a stand-in response: status, headers and JSON body. */
  function answer(e: unknown): { status: number; headers: Record<string, unknown>; body: unknown } {
    const written = { status: 0, headers: {} as Record<string, unknown>, body: undefined as unknown };
    const res = {
      headersSent: false,
      writeHead(status: number, headers: Record<string, unknown>) {
        written.status = status;
        written.headers = headers;
      },
      end(text: string) {
        written.body = JSON.parse(text) as unknown;
      },
    } as unknown as ServerResponse;
    sendError(res, e, pino({ level: 'silent' }), '/leadership/acquire');
    return written;
  }

  it('says how long to wait the HTTP way (Retry-After, whole seconds up) when a refusal asks for a wait', () => {
    const refused = answer(
      new ServerError('BACKPRESSURE', 'new leases are refused', { renewalLagMs: 1200, retryAfterMs: 1200 }),
    );
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.body).toEqual({
      error: {
        code: 'BACKPRESSURE',
        message: 'new leases are refused',
        renewalLagMs: 1200,
        retryAfterMs: 1200,
      },
    });
    expect(answer(new ServerError('NOT_FOUND', 'no such scope')).headers).not.toHaveProperty('retry-after');
  });
});
