import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import type { ClientGrpcServer } from '../../src/index';
import { loadPublicApi, startGrpcServer } from '../../src/index';
import type { Msg, Solo } from './grpc-test-helpers';
import {
  StreamReader,
  errorCodeOf,
  leaseOf,
  metadataOf,
  serverStream,
  startSolo,
  streamReady,
  unary,
} from './grpc-test-helpers';

describe('the Watch stream', () => {
  jest.setTimeout(60_000);
  const HISTORY_EVENTS_MAX = 100;
  let solo: Solo;

  beforeAll(async () => {
    solo = await startSolo(['--watch-history-events-max', String(HISTORY_EVENTS_MAX)]);
  });

  afterAll(async () => {
    await solo.stop();
  });

  /** cycle acquires and resigns `scope`: two events, two revisions; it returns the acquire's revision. */
  async function cycle(scope: string, candidateId = 'a'): Promise<number> {
    const lease = leaseOf(
      await unary(solo.leadership, 'Acquire', {
        scope,
        candidateId,
        leaseTtlMs: 10_000,
        correlationId: `${scope}-up`,
      }),
      'lease',
    );
    await unary(solo.leadership, 'Resign', { scope, fenceToken: lease['fenceToken'] });
    return Number(lease['revision']);
  }

  it('replays retained events from a revision, one response per revision, filtered by prefix', async () => {
    const from = await cycle('watch/replay/a');
    await cycle('elsewhere/b');
    await cycle('watch/replay/c');
    const reader = new StreamReader(
      serverStream(solo.leadership, 'Watch', { prefix: 'watch/replay/', fromRevision: from }),
    );
    const got: Msg[] = [];
    for (let i = 0; i < 4; i++) got.push(await reader.next());
    expect(got.map((m) => Number(m['revision']))).toEqual(
      [...got.map((m) => Number(m['revision']))].sort((x, y) => x - y),
    );
    expect(Number(got[0]!['revision'])).toBe(from);
    const events = got.map((m) => (m['events'] as Msg[])[0]!);
    expect(events.map((e) => [e['scope'], e['reason']])).toEqual([
      ['watch/replay/a', 'HOLDER_CHANGE_REASON_GRANTED'],
      ['watch/replay/a', 'HOLDER_CHANGE_REASON_RESIGNED'],
      ['watch/replay/c', 'HOLDER_CHANGE_REASON_GRANTED'],
      ['watch/replay/c', 'HOLDER_CHANGE_REASON_RESIGNED'],
    ]);
    expect(events[0]).toMatchObject({
      correlationId: 'watch/replay/a-up',
      proposerId: 'solo',
      previousHolder: null,
      holder: expect.objectContaining({ candidateId: 'a', fenceToken: String(from) }) as unknown,
    });
    expect(events[1]!['previousHolder']).toEqual({ candidateId: 'a', fenceToken: String(from) });
    expect(events[1]!['holder']).toBeNull();
    // Live events follow the replay on the same stream.
    const live = await cycle('watch/replay/d');
    expect(Number((await reader.next())['revision'])).toBe(live);
  });

  it('watches from now when from_revision is 0', async () => {
    await cycle('watch/now/old');
    const call = serverStream(solo.leadership, 'Watch', { prefix: 'watch/now/' });
    const reader = new StreamReader(call);
    await streamReady(call);
    const revision = await cycle('watch/now/new');
    const first = await reader.next();
    expect(Number(first['revision'])).toBe(revision);
    expect((first['events'] as Msg[])[0]!['scope']).toBe('watch/now/new');
    call.cancel();
  });

  it('fails a watch from a compacted revision with OUT_OF_RANGE naming the oldest available', async () => {
    const first = await cycle('watch/compact/0');
    for (let i = 1; i <= HISTORY_EVENTS_MAX / 2 + 5; i++) await cycle(`watch/compact/${i}`);
    const oldest = solo.server.hub.oldestAvailable;
    expect(oldest).toBeGreaterThan(first);
    const { error } = await new StreamReader(
      serverStream(solo.leadership, 'Watch', { prefix: 'watch/compact/', fromRevision: first }),
    ).end();
    expect(error?.code).toBe(grpc.status.OUT_OF_RANGE);
    expect(error && errorCodeOf(error)).toBe('COMPACTED');
    expect(error?.details).toContain(`the oldest available is ${oldest}`);
    expect(error && metadataOf(error, 'omnirelay-oldest-revision')).toBe(String(oldest));
  });

  it('refuses a prefix no scope can start with, with INVALID_ARGUMENT', async () => {
    const { error } = await new StreamReader(
      serverStream(solo.leadership, 'Watch', { prefix: 'Not/Valid Prefix', fromRevision: 0 }),
    ).end();
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/prefix must be/);
  });

  it('ends open watches with UNAVAILABLE and the revision to resume from when the server stops', async () => {
    const other = await startSolo();
    const lease = leaseOf(
      await unary(other.leadership, 'Acquire', { scope: 'watch/stop', candidateId: 'a', leaseTtlMs: 10_000 }),
      'lease',
    );
    const reader = new StreamReader(
      serverStream(other.leadership, 'Watch', { prefix: 'watch/', fromRevision: lease['revision'] }),
    );
    expect(Number((await reader.next())['revision'])).toBe(Number(lease['revision']));
    const stopped = other.stop();
    const { error } = await reader.end();
    await stopped;
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(error && errorCodeOf(error)).toBe('STOPPED');
    expect(error && metadataOf(error, 'omnirelay-resume-revision')).toBe(
      String(Number(lease['revision']) + 1),
    );
  });

  describe('with a tiny stream buffer', () => {
    let small: ClientGrpcServer;
    let client: grpc.Client;

    beforeAll(async () => {
      small = await startGrpcServer({
        address: '127.0.0.1:0',
        service: solo.server.service,
        node: solo.server.node,
        logger: pino({ level: 'silent' }),
        limits: { watchStreamBufferBytesMax: 1 },
      });
      client = new (loadPublicApi().leadership.Client)(small.address, grpc.credentials.createInsecure());
    });

    afterAll(async () => {
      client.close();
      await small.close();
    });

    it('cuts off a watcher that cannot keep up with RESOURCE_EXHAUSTED and the revision to resume from', async () => {
      const from = await cycle('watch/slow/a');
      // The replay writes the first revision, then finds more than one byte still queued.
      const { error, messages } = await new StreamReader(
        serverStream(client, 'Watch', { prefix: 'watch/slow/', fromRevision: from }),
      ).end();
      expect(messages.map((m) => Number(m['revision']))).toEqual([from]);
      expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(error && errorCodeOf(error)).toBe('BACKPRESSURE');
      expect(error?.details).toMatch(new RegExp(`resume with fromRevision ${from + 1}`));
      expect(error && metadataOf(error, 'omnirelay-resume-revision')).toBe(String(from + 1));
    });
  });
});
