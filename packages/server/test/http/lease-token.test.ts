import type { LeaseView } from '@omnirelay/leadership-fsm';
import { expiresAtOf, leaseTokenJson, withLeaseTokens } from '../../src/http/lease-token';
import type { OmniRelayServer } from '../../src/index';
import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';

/** DISC_002_NAMES are the lease token's names DISC-002 fixes. */
const DISC_002_NAMES = ['leaderId', 'scope', 'term', 'fenceToken', 'expiresAt'];

/** TOKEN_KEYS are exactly the fields of a lease token on every HTTP and SSE surface, sorted. */
const TOKEN_KEYS = [...DISC_002_NAMES, 'expiresAtMs', 'ttlMs', 'revision', 'sessionId', 'metadata']
  .concat('grantedAtMs', 'lastRenewedAtMs')
  .sort();

const RFC3339_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** expectToken checks a lease token's names and that expiresAt is expiresAtMs as RFC 3339 UTC. */
function expectToken(token: unknown, leaderId: string): Record<string, unknown> {
  const t = token as Record<string, unknown>;
  expect(Object.keys(t).sort()).toEqual(TOKEN_KEYS);
  expect(t['leaderId']).toBe(leaderId);
  expect(t['fenceToken']).toMatch(/^\d+$/);
  expect(typeof t['term']).toBe('number');
  expect(t['expiresAt']).toMatch(RFC3339_UTC_MS);
  expect(new Date(t['expiresAt'] as string).getTime()).toBe(t['expiresAtMs']);
  expect(t['expiresAtMs']).toBe((t['lastRenewedAtMs'] as number) + (t['ttlMs'] as number));
  return t;
}

const VIEW: LeaseView = {
  scope: 'shard/orders/1',
  candidateId: 'worker-a',
  sessionId: 's-1',
  metadata: '',
  scopeTerm: 3,
  fenceToken: 18446744073709551615n,
  leaseTtlMs: 10_000,
  deadlineMs: 1_796_383_800_123,
  lastRenewalStampMs: 1_796_383_790_123,
  grantedStampMs: 1_796_383_780_000,
  revision: 41,
};

describe('leaseTokenJson', () => {
  it('names the lease token as DISC-002 does, with expiresAt in RFC 3339 UTC', () => {
    expect(leaseTokenJson(VIEW)).toEqual({
      leaderId: 'worker-a',
      scope: 'shard/orders/1',
      term: 3,
      fenceToken: '18446744073709551615',
      expiresAt: '2026-12-04T11:30:00.123Z',
      expiresAtMs: 1_796_383_800_123,
      ttlMs: 10_000,
      revision: 41,
      sessionId: 's-1',
      metadata: '',
      grantedAtMs: 1_796_383_780_000,
      lastRenewedAtMs: 1_796_383_790_123,
    });
  });

  it('refuses a deadline that is not a time instead of inventing one', () => {
    for (const bad of [Number.POSITIVE_INFINITY, Number.NaN, -1, 1.5]) {
      expect(() => expiresAtOf(bad)).toThrow(/is not a time/);
    }
    expect(expiresAtOf(0)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('renames the lease fields of an answer and a renewal deadline, and leaves the others', () => {
    expect(
      withLeaseTokens({
        type: 'stepDown',
        scope: 'a',
        previousHolder: { candidateId: 'x', fenceToken: 7n },
        successor: null,
        deadlineMs: 0,
      }),
    ).toEqual({
      type: 'stepDown',
      scope: 'a',
      previousHolder: { leaderId: 'x', fenceToken: '7' },
      successor: null,
      expiresAt: '1970-01-01T00:00:00.000Z',
      expiresAtMs: 0,
    });
  });
});

describe('the lease token on the JSON surfaces of a single node', () => {
  jest.setTimeout(30_000);
  let node: SingleNode;
  let server: OmniRelayServer;

  beforeAll(async () => {
    node = await startSingleNode([]);
    server = node.server;
  });

  afterAll(async () => {
    await node.stop();
  });

  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await fetch(`http://${server.http.address}${path}`, init);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('answers acquire, leaders, validate, renew, stepdown and resign with the DISC-002 names', async () => {
    const acquired = await call('POST', '/leadership/acquire', {
      scope: 'token/a',
      candidateId: 'alpha',
      leaseTtlMs: 60_000,
    });
    const lease = expectToken(acquired.json['lease'], 'alpha');
    expect(lease['term']).toBe(1);
    const fenceToken = lease['fenceToken'] as string;
    expectToken(
      (
        await call('POST', '/leadership/acquire', {
          scope: 'token/a',
          candidateId: 'beta',
          leaseTtlMs: 60_000,
        })
      ).json['holder'],
      'alpha',
    );

    const one = await call('GET', '/control/leaders?scope=token/a');
    expect(expectToken(one.json['leader'], 'alpha')['fenceToken']).toBe(fenceToken);
    const page = await call('GET', '/control/leaders?prefix=token/');
    expect(page.json['holders']).toHaveLength(1);
    expectToken((page.json['holders'] as unknown[])[0], 'alpha');

    const valid = await call('POST', '/fence-token/validate', { scope: 'token/a', fenceToken });
    expect(valid.json['valid']).toBe(true);
    expectToken(valid.json['current'], 'alpha');

    const renewed = await call('POST', '/leadership/renew', { leases: [{ scope: 'token/a', fenceToken }] });
    const item = (renewed.json['leases'] as Array<Record<string, unknown>>)[0]!;
    expect(Object.keys(item).sort()).toEqual(['expiresAt', 'expiresAtMs', 'fenceToken', 'renewed', 'scope']);
    expect(new Date(item['expiresAt'] as string).getTime()).toBe(item['expiresAtMs']);

    const stepped = await call('POST', '/leadership/stepdown', {
      scope: 'token/a',
      to: 'gamma',
      leaseTtlMs: 60_000,
    });
    expect(stepped.json['previousHolder']).toEqual({ leaderId: 'alpha', fenceToken });
    expect(expectToken(stepped.json['successor'], 'gamma')['term']).toBe(2);

    const successorFence = (stepped.json['successor'] as { fenceToken: string }).fenceToken;
    const resigned = await call('POST', '/leadership/resign', {
      scope: 'token/a',
      fenceToken: successorFence,
    });
    expect(resigned.json).toMatchObject({ scope: 'token/a', successor: null });
    expect(resigned.json['raftTerm']).toMatch(/^\d+$/);
  });

  it('streams SSE events whose holder and previous holder carry the DISC-002 names', async () => {
    const first = await call('POST', '/leadership/acquire', {
      scope: 'token-sse/a',
      candidateId: 'alpha',
      leaseTtlMs: 60_000,
    });
    const fenceToken = (first.json['lease'] as { fenceToken: string }).fenceToken;
    await call('POST', '/leadership/stepdown', { scope: 'token-sse/a', to: 'beta', leaseTtlMs: 60_000 });
    const controller = new AbortController();
    const res = await fetch(
      `http://${server.http.address}/control/events/leadership?prefix=token-sse/&fromRevision=1`,
      {
        signal: controller.signal,
      },
    );
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const deadline = Date.now() + 5000;
    // Bounded: two data lines are all this scope has, and the read stops after 5 s or 50 chunks.
    for (let i = 0; i < 50 && (text.match(/^data: /gm) ?? []).length < 2 && Date.now() < deadline; i++) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += Buffer.from(chunk.value).toString();
    }
    controller.abort();
    const events = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .flatMap((l) => (JSON.parse(l.slice(6)) as { events: Array<Record<string, unknown>> }).events);
    expect(events.map((e) => e['reason'])).toEqual(['granted', 'preempted']);
    const [granted, preempted] = events as [Record<string, unknown>, Record<string, unknown>];
    expect(Object.keys(granted).sort()).toEqual([
      'correlationId',
      'holder',
      'previousHolder',
      'principal',
      'proposerId',
      'raftTerm',
      'reason',
      'revision',
      'scope',
      'stampMs',
      'term',
    ]);
    expect(granted['term']).toBe(1);
    expectToken(granted['holder'], 'alpha');
    expect(preempted['term']).toBe(2);
    expect(preempted['previousHolder']).toEqual({ leaderId: 'alpha', fenceToken });
    expectToken(preempted['holder'], 'beta');
  });

  it('refuses a validation without fenceToken with a JSON error naming the field', async () => {
    const res = await call('POST', '/fence-token/validate', { scope: 'token/a' });
    expect(res.status).toBe(400);
    expect(res.json['error']).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'fenceToken' });
    expect((res.json['error'] as { message: string }).message).toMatch(/fenceToken is required/);
  });

  it('refuses the old name fence with a JSON error that gives the new name', async () => {
    const res = await call('POST', '/fence-token/validate', { scope: 'token/a', fence: '5' });
    expect(res.status).toBe(400);
    expect(res.json['error']).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'fence' });
    expect((res.json['error'] as { message: string }).message).toMatch(/now called "fenceToken"/);
  });
});
