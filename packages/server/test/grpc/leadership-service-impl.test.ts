import * as grpc from '@grpc/grpc-js';
import type { Msg, Solo } from './grpc-test-helpers';
import {
  StreamReader,
  WAIT_MS,
  errorCodeOf,
  failureOf,
  leaseOf,
  serverStream,
  sleep,
  startSolo,
  unary,
} from './grpc-test-helpers';

describe('the public gRPC Leadership service', () => {
  jest.setTimeout(60_000);
  let solo: Solo;
  let call: (method: string, request: object) => Promise<Msg>;

  beforeAll(async () => {
    solo = await startSolo();
    call = (method, request) => unary(solo.leadership, method, request);
  });

  afterAll(async () => {
    await solo.stop();
  });

  const acquire = (scope: string, candidateId: string, extra: object = {}): Promise<Msg> =>
    call('Acquire', { scope, candidateId, leaseTtlMs: 10_000, ...extra });

  it('grants a vacant scope with a fence token', async () => {
    const res = await acquire('grpc/acquire', 'a', { metadata: 'a:1', correlationId: 'req-1' });
    expect(res['granted']).toBe(true);
    expect(res['alreadyHolder']).toBe(false);
    const lease = leaseOf(res, 'lease');
    expect(lease).toMatchObject({
      scope: 'grpc/acquire',
      candidateId: 'a',
      metadata: 'a:1',
      leaseTtlMs: 10_000,
    });
    expect(BigInt(lease['fenceToken'] as string)).toBeGreaterThan(0n);
    expect(lease['revision']).toBe(lease['fenceToken']);
  });

  it('refuses a second candidate and names the holder', async () => {
    const first = leaseOf(await acquire('grpc/second', 'a'), 'lease');
    const res = await acquire('grpc/second', 'b');
    expect(res['granted']).toBe(false);
    expect(leaseOf(res, 'lease')).toMatchObject({ candidateId: 'a', fenceToken: first['fenceToken'] });
  });

  it('refuses a resign with a stale fence with FAILED_PRECONDITION and STALE_FENCE, changing nothing', async () => {
    const lease = leaseOf(await acquire('grpc/stale', 'a'), 'lease');
    const stale = (BigInt(lease['fenceToken'] as string) - 1n).toString();
    const error = await failureOf(call('Resign', { scope: 'grpc/stale', fenceToken: stale }));
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorCodeOf(error)).toBe('STALE_FENCE');
    expect(error.details).toMatch(/fence/i);
    const after = await call('GetLeader', { scope: 'grpc/stale' });
    expect(leaseOf(after, 'leader')).toMatchObject({ candidateId: 'a', fenceToken: lease['fenceToken'] });
  });

  it('resigns with the right fence and leaves the scope vacant', async () => {
    const lease = leaseOf(await acquire('grpc/resign', 'a'), 'lease');
    const res = await call('Resign', {
      scope: 'grpc/resign',
      fenceToken: lease['fenceToken'],
      correlationId: 'bye',
    });
    expect(res).toMatchObject({ scope: 'grpc/resign', successor: null });
    expect((await call('GetLeader', { scope: 'grpc/resign' }))['leader']).toBeNull();
  });

  it.each([
    ['an invalid scope', { scope: 'Bad Scope!' }, 'INVALID_SCOPE'],
    ['an empty scope', { scope: '' }, 'INVALID_SCOPE'],
    ['a TTL below the minimum', { leaseTtlMs: 1 }, 'TTL_OUT_OF_RANGE'],
    ['a TTL above the maximum', { leaseTtlMs: 3_600_001 }, 'TTL_OUT_OF_RANGE'],
    ['a missing TTL', { leaseTtlMs: 0 }, 'TTL_OUT_OF_RANGE'],
    ['oversized metadata', { metadata: 'x'.repeat(1025) }, 'METADATA_TOO_LARGE'],
    ['an invalid candidate id', { candidateId: ' ' }, 'INVALID_ARGUMENT'],
    ['an invalid correlation id', { correlationId: 'has space' }, 'INVALID_ARGUMENT'],
  ])('refuses an acquire with %s with INVALID_ARGUMENT', async (_what, override, code) => {
    const error = await failureOf(acquire('grpc/bad-input', 'a', override));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorCodeOf(error)).toBe(code);
    expect(error.details.length).toBeGreaterThan(10);
    expect((await call('GetLeader', { scope: 'grpc/bad-input' }))['leader']).toBeNull();
  });

  it.each([
    ['a fence token that is not a number', 'abc'],
    ['a zero fence token', '0'],
    ['a missing fence token', undefined],
  ])('refuses %s with INVALID_ARGUMENT', async (_what, fenceToken) => {
    // One session for every case: the second case gets the first case's lease back.
    const lease = leaseOf(await acquire('grpc/fence-input', 'a', { sessionId: 'fence-input' }), 'lease');
    for (const method of ['Resign', 'ValidateFence']) {
      const error = await failureOf(call(method, { scope: 'grpc/fence-input', fenceToken }));
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(errorCodeOf(error)).toBe('INVALID_ARGUMENT');
      expect(error.details).toMatch(/fence_token must be a fence token/);
    }
    expect(leaseOf(await call('GetLeader', { scope: 'grpc/fence-input' }), 'leader')['fenceToken']).toBe(
      lease['fenceToken'],
    );
  });

  it('keeps the largest uint64 fence token intact on the wire', async () => {
    const res = await call('ValidateFence', {
      scope: 'grpc/fence-input',
      fenceToken: '18446744073709551615',
    });
    expect(res['valid']).toBe(false);
  });

  it('answers GetLeader and ValidateFence linearizably and serializably', async () => {
    const lease = leaseOf(await acquire('grpc/read', 'a'), 'lease');
    for (const serializable of [false, true]) {
      const leader = await call('GetLeader', { scope: 'grpc/read', serializable });
      expect(leaseOf(leader, 'leader')).toMatchObject({ candidateId: 'a', fenceToken: lease['fenceToken'] });
      const valid = await call('ValidateFence', {
        scope: 'grpc/read',
        fenceToken: lease['fenceToken'],
        serializable,
      });
      expect(valid).toMatchObject({ scope: 'grpc/read', valid: true });
      expect(leaseOf(valid, 'current')['candidateId']).toBe('a');
      const stale = (BigInt(lease['fenceToken'] as string) + 1n).toString();
      expect(
        (await call('ValidateFence', { scope: 'grpc/read', fenceToken: stale, serializable }))['valid'],
      ).toBe(false);
    }
    const vacant = await call('ValidateFence', {
      scope: 'grpc/never-held',
      fenceToken: '1',
      serializable: true,
    });
    expect(vacant).toMatchObject({ valid: false, current: null });
  });

  it('lists leaders by prefix, page by page', async () => {
    for (const n of ['1', '2', '3']) await acquire(`grpc/list/${n}`, `c${n}`);
    const first = await call('ListLeaders', { prefix: 'grpc/list/', limit: 2 });
    expect((first['leaders'] as Msg[]).map((l) => l['scope'])).toEqual(['grpc/list/1', 'grpc/list/2']);
    expect(first['nextPageToken']).toBe('grpc/list/2');
    const second = await call('ListLeaders', {
      prefix: 'grpc/list/',
      limit: 2,
      pageToken: first['nextPageToken'],
      serializable: true,
    });
    expect((second['leaders'] as Msg[]).map((l) => l['scope'])).toEqual(['grpc/list/3']);
    expect(second['nextPageToken']).toBe('');
    const error = await failureOf(call('ListLeaders', { limit: 1001 }));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  describe('Campaign', () => {
    it('elects at once into a vacant scope and ends the stream', async () => {
      const reader = new StreamReader(
        serverStream(solo.leadership, 'Campaign', {
          scope: 'grpc/campaign/vacant',
          candidateId: 'a',
          leaseTtlMs: 10_000,
        }),
      );
      const first = await reader.next();
      expect(first['state']).toBe('elected');
      expect(leaseOf(leaseOf(first, 'elected'), 'lease')['candidateId']).toBe('a');
      expect((await reader.end()).error).toBeNull();
    });

    it('queues a second candidate, then elects it when the holder resigns', async () => {
      const holder = leaseOf(await acquire('grpc/campaign/queue', 'a'), 'lease');
      const reader = new StreamReader(
        serverStream(solo.leadership, 'Campaign', {
          scope: 'grpc/campaign/queue',
          candidateId: 'b',
          leaseTtlMs: 10_000,
          priority: 5,
          metadata: 'b-meta',
        }),
      );
      const queued = await reader.next();
      expect(queued['state']).toBe('queued');
      expect(leaseOf(queued, 'queued')).toMatchObject({ position: 0, alreadyWaiting: false });
      expect(leaseOf(leaseOf(queued, 'queued'), 'holder')).toMatchObject({
        candidateId: 'a',
        fenceToken: holder['fenceToken'],
      });
      const resigned = await call('Resign', {
        scope: 'grpc/campaign/queue',
        fenceToken: holder['fenceToken'],
      });
      expect(leaseOf(resigned, 'successor')['candidateId']).toBe('b');
      const elected = await reader.next();
      expect(elected['state']).toBe('elected');
      const lease = leaseOf(leaseOf(elected, 'elected'), 'lease');
      expect(lease).toMatchObject({ candidateId: 'b', metadata: 'b-meta' });
      expect(BigInt(lease['fenceToken'] as string)).toBeGreaterThan(BigInt(holder['fenceToken'] as string));
      expect((await reader.end()).error).toBeNull();
    });

    it('withdraws a queued candidate when its call is cancelled', async () => {
      const holder = leaseOf(await acquire('grpc/campaign/cancel', 'a'), 'lease');
      const stream = serverStream(solo.leadership, 'Campaign', {
        scope: 'grpc/campaign/cancel',
        candidateId: 'c',
        leaseTtlMs: 10_000,
      });
      const reader = new StreamReader(stream);
      expect((await reader.next())['state']).toBe('queued');
      expect(solo.server.stateMachine.fsm.getScope('grpc/campaign/cancel')?.waiting).toHaveLength(1);
      stream.cancel();
      expect((await reader.end()).error?.code).toBe(grpc.status.CANCELLED);
      const deadline = Date.now() + WAIT_MS;
      while ((solo.server.stateMachine.fsm.getScope('grpc/campaign/cancel')?.waiting.length ?? 0) > 0) {
        if (Date.now() > deadline) throw new Error('the cancelled campaign was not withdrawn');
        await sleep(10);
      }
      const resigned = await call('Resign', {
        scope: 'grpc/campaign/cancel',
        fenceToken: holder['fenceToken'],
      });
      expect(resigned['successor']).toBeNull();
    });

    it('refuses a campaign with bad input before anything is queued', async () => {
      const reader = new StreamReader(
        serverStream(solo.leadership, 'Campaign', {
          scope: 'grpc/campaign/bad',
          candidateId: 'a',
          leaseTtlMs: 1,
        }),
      );
      const { error } = await reader.end();
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error && errorCodeOf(error)).toBe('TTL_OUT_OF_RANGE');
      expect(solo.server.stateMachine.fsm.getScope('grpc/campaign/bad')).toBeNull();
    });
  });

  describe('client sessions', () => {
    it('gives the same session its lease back and refuses another session of the same candidate', async () => {
      const revisionBefore = solo.server.hub.currentRevision;
      const first = await acquire('grpc/session/acquire', 'worker', { sessionId: 'session-1' });
      const lease = leaseOf(first, 'lease');
      expect(lease).toMatchObject({ candidateId: 'worker', sessionId: 'session-1' });
      const retry = await acquire('grpc/session/acquire', 'worker', { sessionId: 'session-1' });
      expect(retry).toMatchObject({ granted: true, alreadyHolder: true });
      expect(leaseOf(retry, 'lease')['fenceToken']).toBe(lease['fenceToken']);
      for (const other of [{ sessionId: 'session-2' }, {}]) {
        const error = await failureOf(acquire('grpc/session/acquire', 'worker', other));
        expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
        expect(errorCodeOf(error)).toBe('HELD_BY_OTHER_SESSION');
        expect(error.details).toMatch(/another client session/);
      }
      expect(solo.server.stateMachine.fsm.getHolder('grpc/session/acquire')).toMatchObject({
        sessionId: 'session-1',
        fenceToken: BigInt(lease['fenceToken'] as string),
      });
      // The audit has one grant, and it names the session.
      const events: Array<{ reason: string; holder: { sessionId: string } | null }> = [];
      solo.server.hub
        .watch('grpc/session/acquire', revisionBefore + 1, {
          deliver: (batch) => (events.push(...batch.events), true),
          close: () => undefined,
        })
        .cancel();
      expect(events.map((e) => [e.reason, e.holder?.sessionId])).toEqual([['granted', 'session-1']]);
    });

    it('refuses a campaign by the holder candidate in another session', async () => {
      await acquire('grpc/session/campaign', 'worker', { sessionId: 'session-1' });
      const reader = new StreamReader(
        serverStream(solo.leadership, 'Campaign', {
          scope: 'grpc/session/campaign',
          candidateId: 'worker',
          sessionId: 'session-2',
          leaseTtlMs: 10_000,
        }),
      );
      const { error } = await reader.end();
      expect(error?.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(error && errorCodeOf(error)).toBe('HELD_BY_OTHER_SESSION');
      expect(solo.server.stateMachine.fsm.getScope('grpc/session/campaign')?.waiting).toEqual([]);
    });

    it('refuses a session id outside the rules with INVALID_ARGUMENT naming it', async () => {
      for (const sessionId of ['', 'has space', '-lead', 's'.repeat(65)]) {
        const error = await failureOf(acquire('grpc/session/bad', 'worker', { sessionId }));
        expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(errorCodeOf(error)).toBe('INVALID_ARGUMENT');
        expect(error.details).toMatch(/sessionId .*a session id is 1\.\.64 characters/);
      }
      expect(solo.server.stateMachine.fsm.getScope('grpc/session/bad')).toBeNull();
    });
  });

  describe('StepDown', () => {
    it('hands the scope to a waiting successor in one event', async () => {
      const holder = leaseOf(await acquire('grpc/stepdown/wait', 'a'), 'lease');
      const campaign = new StreamReader(
        serverStream(solo.leadership, 'Campaign', {
          scope: 'grpc/stepdown/wait',
          candidateId: 'b',
          leaseTtlMs: 10_000,
        }),
      );
      expect((await campaign.next())['state']).toBe('queued');
      const revisionBefore = solo.server.hub.currentRevision;
      const res = await call('StepDown', {
        scope: 'grpc/stepdown/wait',
        fenceToken: holder['fenceToken'],
        successorId: 'b',
        correlationId: 'op-1',
      });
      expect(res['previousHolder']).toEqual({ candidateId: 'a', fenceToken: holder['fenceToken'] });
      const successor = leaseOf(res, 'successor');
      expect(successor['candidateId']).toBe('b');
      expect((await campaign.next())['state']).toBe('elected');
      // The hub replays retained revisions synchronously: everything since the step-down, for this scope.
      const mine: Array<{ reason: string; correlationId: string }> = [];
      solo.server.hub
        .watch('grpc/stepdown/wait', revisionBefore + 1, {
          deliver: (batch) => (mine.push(...batch.events), true),
          close: () => undefined,
        })
        .cancel();
      expect(mine).toEqual([expect.objectContaining({ reason: 'preempted', correlationId: 'op-1' })]);
    });

    it('refuses a successor that is not waiting when no TTL is given, changing nothing', async () => {
      const holder = leaseOf(await acquire('grpc/stepdown/none', 'a'), 'lease');
      const error = await failureOf(call('StepDown', { scope: 'grpc/stepdown/none', successorId: 'nobody' }));
      expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(errorCodeOf(error)).toBe('NOT_WAITING');
      expect(leaseOf(await call('GetLeader', { scope: 'grpc/stepdown/none' }), 'leader')['fenceToken']).toBe(
        holder['fenceToken'],
      );
    });

    it('hands the scope to an explicit successor with its own TTL and metadata', async () => {
      await acquire('grpc/stepdown/explicit', 'a');
      const res = await call('StepDown', {
        scope: 'grpc/stepdown/explicit',
        successorId: 'z',
        successorLeaseTtlMs: 5_000,
        successorMetadata: 'z-meta',
      });
      expect(leaseOf(res, 'successor')).toMatchObject({
        candidateId: 'z',
        leaseTtlMs: 5_000,
        metadata: 'z-meta',
      });
    });

    it('refuses successor metadata without a successor TTL', async () => {
      await acquire('grpc/stepdown/meta', 'a');
      const error = await failureOf(
        call('StepDown', { scope: 'grpc/stepdown/meta', successorId: 'z', successorMetadata: 'm' }),
      );
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toMatch(/successor_lease_ttl_ms/);
    });

    it('steps a holder down without a successor, leaving the scope vacant', async () => {
      await acquire('grpc/stepdown/vacant', 'a');
      const res = await call('StepDown', { scope: 'grpc/stepdown/vacant' });
      expect(res).toMatchObject({ successor: null, previousHolder: { candidateId: 'a' } });
    });
  });

  it('answers Cluster.Status with this node as the leader', async () => {
    const status = await unary(solo.cluster, 'Status', {});
    expect(status).toMatchObject({
      nodeId: 'solo',
      role: 'leader',
      leader: 'solo',
      members: [{ id: 'solo', voter: true }],
    });
    expect(Number(status['applied'])).toBeGreaterThan(0);
  });

  it('lists the members with Cluster.Members', async () => {
    const res = await unary(solo.cluster, 'Members', {});
    expect(res).toMatchObject({
      nodeId: 'solo',
      leader: 'solo',
      members: [{ id: 'solo', voter: true, self: true, connected: true }],
    });
  });

  it('refuses Cluster.TransferLeadership when there is no other voter, naming why', async () => {
    const error = await failureOf(unary(solo.cluster, 'TransferLeadership', {}));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorCodeOf(error)).toBe('INVALID_TRANSFER_TARGET');
    expect(error.details).toMatch(/only voter/);
  });

  it('refuses bad membership changes over Cluster.AddLearner, Promote and RemoveMember, naming why', async () => {
    const badAddress = await failureOf(
      unary(solo.cluster, 'AddLearner', { id: 'n9', peerAddress: 'nowhere' }),
    );
    expect(errorCodeOf(badAddress)).toBe('INVALID_CONFIG_CHANGE');
    expect(badAddress.details).toMatch(/host:port/);
    const notLearner = await failureOf(unary(solo.cluster, 'Promote', { id: 'n9' }));
    expect(errorCodeOf(notLearner)).toBe('INVALID_CONFIG_CHANGE');
    const lastVoter = await failureOf(unary(solo.cluster, 'RemoveMember', { id: 'solo' }));
    expect(errorCodeOf(lastVoter)).toBe('INVALID_CONFIG_CHANGE');
    expect(lastVoter.details).toMatch(/last voter/);
    const badId = await failureOf(unary(solo.cluster, 'Promote', { id: '' }));
    expect(errorCodeOf(badId)).toBe('INVALID_ARGUMENT');
  });

  it('answers a malformed protobuf message with INVALID_ARGUMENT and keeps serving', async () => {
    const passthrough = (b: Buffer): Buffer => b;
    const Raw = grpc.makeGenericClientConstructor(
      {
        Acquire: {
          path: '/omnirelay.leadership.v1.Leadership/Acquire',
          requestStream: false,
          responseStream: false,
          requestSerialize: passthrough,
          requestDeserialize: passthrough,
          responseSerialize: passthrough,
          responseDeserialize: passthrough,
        },
      },
      'RawLeadership',
    );
    const raw = new Raw(solo.server.grpcAddress, grpc.credentials.createInsecure());
    try {
      // A tag with no value after it, and a varint that never ends.
      for (const bytes of [[0x08], [0xff, 0xff, 0xff, 0xff]]) {
        const error = await failureOf(unary(raw, 'Acquire', Buffer.from(bytes)));
        expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(error.details).toMatch(/the Acquire request is not a valid protobuf message/);
        expect(errorCodeOf(error)).toBe('INVALID_ARGUMENT');
      }
    } finally {
      raw.close();
    }
    expect((await acquire('grpc/after-garbage', 'a'))['granted']).toBe(true);
  });
});
