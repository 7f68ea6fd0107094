import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import type { ClientGrpcServer } from '../../src/index';
import { KEEPALIVE_LEASES_PER_MESSAGE_MAX, loadPublicApi, startGrpcServer } from '../../src/index';
import type { Msg, Solo } from './grpc-test-helpers';
import { StreamReader, duplex, errorCodeOf, leaseOf, startSolo, unary } from './grpc-test-helpers';

describe('the KeepAlive stream', () => {
  jest.setTimeout(60_000);
  let solo: Solo;

  beforeAll(async () => {
    solo = await startSolo();
  });

  afterAll(async () => {
    await solo.stop();
  });

  async function acquireMany(prefix: string, count: number): Promise<Msg[]> {
    const leases: Msg[] = [];
    for (let i = 0; i < count; i++) {
      const res = await unary(solo.leadership, 'Acquire', {
        scope: `${prefix}/${i}`,
        candidateId: `c${i}`,
        leaseTtlMs: 10_000,
      });
      leases.push(leaseOf(res, 'lease'));
    }
    return leases;
  }

  const refOf = (lease: Msg): Msg => ({ scope: lease['scope'], fenceToken: lease['fenceToken'] });

  it('renews many leases in one message and reports a stale or malformed one on its own', async () => {
    const leases = await acquireMany('ka/many', 50);
    const stale = {
      scope: leases[7]!['scope'],
      fenceToken: (BigInt(leases[7]!['fenceToken'] as string) - 1n).toString(),
    };
    const stream = duplex(solo.leadership, 'KeepAlive');
    const reader = new StreamReader(stream);
    stream.write({
      leases: [
        ...leases.map(refOf),
        stale,
        { scope: 'Not A Scope', fenceToken: '5' },
        { scope: 'ka/x', fenceToken: '0' },
      ],
    });
    const results = (await reader.next())['results'] as Msg[];
    expect(results).toHaveLength(53);
    for (const [i, lease] of leases.entries()) {
      expect(results[i]).toMatchObject({
        scope: lease['scope'],
        fenceToken: lease['fenceToken'],
        renewed: true,
        errorCode: '',
      });
      expect(Number(results[i]!['deadlineMs'])).toBeGreaterThanOrEqual(Number(lease['deadlineMs']));
    }
    expect(results[50]).toMatchObject({
      scope: stale.scope,
      fenceToken: stale.fenceToken,
      renewed: false,
      errorCode: 'STALE_FENCE',
      currentFenceToken: leases[7]!['fenceToken'],
    });
    expect(results[51]).toMatchObject({ renewed: false, errorCode: 'INVALID_SCOPE' });
    expect(results[52]).toMatchObject({ renewed: false, errorCode: 'INVALID_ARGUMENT' });
    // A second message on the same stream is answered too, in order.
    stream.write({ leases: [refOf(leases[0]!)] });
    expect(((await reader.next())['results'] as Msg[])[0]).toMatchObject({ renewed: true });
    stream.end();
    expect((await reader.end()).error).toBeNull();
  });

  it('reads fences past 2^32 exactly and echoes them in refusals', async () => {
    const [lease] = await acquireMany('ka/wide', 1);
    const stream = duplex(solo.leadership, 'KeepAlive');
    const reader = new StreamReader(stream);
    const wide = ['4294967301', '18446744073709551615'];
    stream.write({
      leases: [refOf(lease!), ...wide.map((fenceToken) => ({ scope: lease!['scope'], fenceToken }))],
    });
    const results = (await reader.next())['results'] as Msg[];
    expect(results[0]).toMatchObject({ renewed: true, fenceToken: lease!['fenceToken'] });
    for (const [i, fenceToken] of wide.entries()) {
      expect(results[i + 1]).toMatchObject({
        scope: lease!['scope'],
        fenceToken,
        renewed: false,
        errorCode: 'STALE_FENCE',
        currentFenceToken: lease!['fenceToken'],
      });
    }
    stream.end();
    expect((await reader.end()).error).toBeNull();
  });

  it(`fails the stream when one message lists more than ${KEEPALIVE_LEASES_PER_MESSAGE_MAX} leases`, async () => {
    const stream = duplex(solo.leadership, 'KeepAlive');
    const reader = new StreamReader(stream);
    const leases = Array.from({ length: KEEPALIVE_LEASES_PER_MESSAGE_MAX + 1 }, (_, i) => ({
      scope: `ka/over/${i}`,
      fenceToken: '1',
    }));
    stream.write({ leases });
    const { error, messages } = await reader.end();
    expect(messages).toHaveLength(0);
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/at most 1000/);
  });

  describe('with a small per-stream bound', () => {
    let small: ClientGrpcServer;
    let client: grpc.Client;

    beforeAll(async () => {
      small = await startGrpcServer({
        address: '127.0.0.1:0',
        service: solo.server.service,
        node: solo.server.node,
        logger: pino({ level: 'silent' }),
        limits: { keepAliveLeasesPerStreamMax: 3, keepAliveLeasesPerMessageMax: 2 },
      });
      client = new (loadPublicApi().leadership.Client)(small.address, grpc.credentials.createInsecure());
    });

    afterAll(async () => {
      client.close();
      await small.close();
    });

    it('fails the stream with too many leases and renews nothing of the request that passed the bound', async () => {
      const leases = await acquireMany('ka/bound', 4);
      const stream = duplex(client, 'KeepAlive');
      const reader = new StreamReader(stream);
      stream.write({ leases: [refOf(leases[0]!), refOf(leases[1]!)] });
      expect(((await reader.next())['results'] as Msg[]).every((r) => r['renewed'] === true)).toBe(true);
      // Leases already counted do not count twice.
      stream.write({ leases: [refOf(leases[0]!), refOf(leases[2]!)] });
      expect(((await reader.next())['results'] as Msg[]).every((r) => r['renewed'] === true)).toBe(true);
      const before = await unary(solo.leadership, 'GetLeader', { scope: leases[3]!['scope'] });
      stream.write({ leases: [refOf(leases[3]!)] });
      const { error, messages } = await reader.end();
      expect(messages).toHaveLength(0);
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error && errorCodeOf(error)).toBe('INVALID_ARGUMENT');
      expect(error?.details).toMatch(/too many leases on one KeepAlive stream/);
      const after = await unary(solo.leadership, 'GetLeader', { scope: leases[3]!['scope'] });
      expect(leaseOf(after, 'leader')['lastRenewalStampMs']).toBe(
        leaseOf(before, 'leader')['lastRenewalStampMs'],
      );
    });

    it('stops counting a lease once a renewal finds it stale', async () => {
      const stream = duplex(client, 'KeepAlive');
      const reader = new StreamReader(stream);
      for (let i = 0; i < 4; i++) {
        stream.write({
          leases: [
            { scope: `ka/gone/${i}`, fenceToken: '1' },
            { scope: `ka/gone/${i}`, fenceToken: '2' },
          ],
        });
        const results = (await reader.next())['results'] as Msg[];
        expect(results.map((r) => r['errorCode'])).toEqual(['STALE_FENCE', 'STALE_FENCE']);
      }
      stream.end();
      expect((await reader.end()).error).toBeNull();
    });

    it('counts a scope once when its lease is granted again, and keeps the new lease when the old one is listed after it', async () => {
      const [first, second] = await acquireMany('ka/again', 2);
      const stream = duplex(client, 'KeepAlive');
      const reader = new StreamReader(stream);
      stream.write({ leases: [refOf(first!), refOf(second!)] });
      expect(((await reader.next())['results'] as Msg[]).map((r) => r['renewed'])).toEqual([true, true]);
      // The first scope changes hands: resigned, then granted again with a new fence.
      await unary(solo.leadership, 'Resign', refOf(first!));
      const again = leaseOf(
        await unary(solo.leadership, 'Acquire', {
          scope: first!['scope'],
          candidateId: 'c0',
          leaseTtlMs: 10_000,
        }),
        'lease',
      );
      expect(again['fenceToken']).not.toEqual(first!['fenceToken']);
      // The new fence replaces the old one on the stream: with a third scope that makes 3 (the bound).
      const [third, fourth] = await acquireMany('ka/again-more', 2);
      stream.write({ leases: [refOf(again), refOf(third!)] });
      expect(((await reader.next())['results'] as Msg[]).map((r) => r['renewed'])).toEqual([true, true]);
      // The old fence listed after the new one is refused, and leaves the new lease counted: a
      // fourth scope is one too many.
      stream.write({ leases: [refOf(first!)] });
      expect(((await reader.next())['results'] as Msg[]).map((r) => r['errorCode'])).toEqual(['STALE_FENCE']);
      stream.write({ leases: [refOf(fourth!)] });
      const { error } = await reader.end();
      expect(error?.details).toMatch(/this request would make 4, at most 3/);
    });
  });

  it('reports on its call line, at debug level, the peer, its requests and how long they waited', async () => {
    const lines: string[] = [];
    const logged = await startGrpcServer({
      address: '127.0.0.1:0',
      service: solo.server.service,
      node: solo.server.node,
      logger: pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }),
      // One request in flight: reading pauses after each until it is answered.
      limits: { keepAliveMessagesInFlightMax: 1 },
    });
    const client = new (loadPublicApi().leadership.Client)(logged.address, grpc.credentials.createInsecure());
    try {
      const leases = await acquireMany('ka/figures', 3);
      const stream = duplex(client, 'KeepAlive');
      const reader = new StreamReader(stream);
      for (const lease of leases) stream.write({ leases: [refOf(lease)] });
      for (let i = 0; i < leases.length; i++) await reader.next();
      stream.end();
      expect((await reader.end()).error).toBeNull();
      const line = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['msg'] === 'gRPC call' && l['method'] === 'KeepAlive');
      expect(line!['peer']).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(line).toMatchObject({
        code: 'OK',
        firstScope: 'ka/figures/0',
        leases: 3,
        requests: 3,
        answered: 3,
        oldestUnansweredMs: 0,
      });
      expect(line!['longestAnswerWaitMs']).toBeGreaterThanOrEqual(0);
      expect(line!['readPausedMs']).toBeGreaterThanOrEqual(0);
    } finally {
      client.close();
      await logged.close();
    }
  });
});
