import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { FORWARDED_BY_METADATA_KEY, loadPublicApi } from '../../src/index';
import type { TestPki } from '../tls/tls-fixtures';
import { makeTestPki } from '../tls/tls-fixtures';
import type { Msg, Solo } from './grpc-test-helpers';
import {
  StreamReader,
  WAIT_MS,
  errorCodeOf,
  leaseOf,
  metadataOf,
  ownConnection,
  sleep,
  startSolo,
  streamReady,
  unary,
} from './grpc-test-helpers';

/** Connection is a Leadership client on a connection of its own (not grpc-js's shared pool). */
type Connection = grpc.Client;

interface StreamingStub {
  Watch(request: object, metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientReadableStream<Msg>;
  Campaign(
    request: object,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
  ): grpc.ClientReadableStream<Msg>;
  KeepAlive(metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientDuplexStream<object, Msg>;
}

describe('the stream and watcher limits', () => {
  jest.setTimeout(60_000);
  const opened: Connection[] = [];
  const calls: Array<{ cancel(): void }> = [];

  function connect(solo: Solo): Connection {
    const client = ownConnection(solo.server.grpcAddress);
    opened.push(client);
    return client;
  }

  const stub = (c: Connection): StreamingStub => c as unknown as StreamingStub;
  const options = (): grpc.CallOptions => ({ deadline: Date.now() + 4 * WAIT_MS });

  function watch(
    c: Connection,
    prefix: string,
    metadata = new grpc.Metadata(),
  ): grpc.ClientReadableStream<Msg> {
    const call = stub(c).Watch({ prefix }, metadata, options());
    calls.push(call);
    return call;
  }

  function campaign(c: Connection, scope: string, candidateId: string): grpc.ClientReadableStream<Msg> {
    const call = stub(c).Campaign({ scope, candidateId, leaseTtlMs: 30_000 }, new grpc.Metadata(), options());
    calls.push(call);
    return call;
  }

  /** keepAlive opens a KeepAlive stream and returns a reader; an empty request checks it is served. */
  function keepAlive(c: Connection, metadata = new grpc.Metadata()): StreamReader & { write(): void } {
    const call = stub(c).KeepAlive(metadata, options());
    calls.push(call);
    const reader = new StreamReader(call);
    const write = (): void => void call.write({ leases: [] });
    write();
    return Object.assign(reader, { write });
  }

  /** refused awaits a call's end and checks it was refused by `limit` with value `value`. */
  async function expectRefused(reader: StreamReader, limit: string, value: number): Promise<void> {
    const { error } = await reader.end();
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error && errorCodeOf(error)).toBe('LIMIT_REACHED');
    expect(error && metadataOf(error, 'omnirelay-limit-name')).toBe(limit);
    expect(error && metadataOf(error, 'omnirelay-limit-value')).toBe(String(value));
    expect(error?.details).toContain(`limit ${limit} (${value}) reached`);
  }

  /** until retries `attempt` (bounded in count and time) until it returns true. */
  async function until(what: string, attempt: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    for (let i = 0; i < 200 && Date.now() < deadline; i++) {
      if (await attempt()) return;
      await sleep(50);
    }
    throw new Error(`${what} did not happen within ${WAIT_MS} ms`);
  }

  afterEach(() => {
    for (const call of calls.splice(0)) call.cancel();
    for (const client of opened.splice(0)) client.close();
  });

  describe('watchers', () => {
    let solo: Solo;

    beforeAll(async () => {
      solo = await startSolo(['--watchers-per-connection-max', '2', '--watchers-max', '3']);
    });

    afterAll(async () => {
      await solo.stop();
    });

    async function sse(): Promise<Response & { abort(): void }> {
      const controller = new AbortController();
      const res = await fetch(`http://${solo.server.http.address}/control/events/leadership?prefix=limits/`, {
        signal: controller.signal,
      });
      return Object.assign(res, { abort: () => controller.abort() });
    }

    it('refuses watchers past each bound with RESOURCE_EXHAUSTED or 429 naming it, and serves those under it', async () => {
      const a = connect(solo);
      const b = connect(solo);
      const admitted = [watch(a, 'limits/'), watch(a, 'limits/')];
      for (const call of admitted) await streamReady(call);
      await expectRefused(new StreamReader(watch(a, 'limits/')), 'watchersPerConnectionMax', 2);
      admitted.push(watch(b, 'limits/'));
      await streamReady(admitted[2]!);
      const readers = admitted.map((call) => new StreamReader(call));
      await expectRefused(new StreamReader(watch(connect(solo), 'limits/')), 'watchersMax', 3);
      const refused = await sse();
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual({
        error: {
          code: 'LIMIT_REACHED',
          message: expect.stringContaining('limit watchersMax (3) reached') as unknown,
          limitName: 'watchersMax',
          limitValue: 3,
        },
      });

      // The watchers under the limits still get every event.
      const lease = leaseOf(
        await unary(solo.leadership, 'Acquire', { scope: 'limits/w', candidateId: 'a', leaseTtlMs: 30_000 }),
        'lease',
      );
      for (const reader of readers) expect((await reader.next())['revision']).toBe(lease['revision']);

      // A watcher that ends frees its place, for an SSE stream too.
      admitted[0]!.cancel();
      await until('an SSE stream admitted', async () => {
        const res = await sse();
        const ok = res.status === 200;
        if (ok) res.abort();
        else await res.text();
        return ok;
      });

      const metrics = await (await fetch(`http://${solo.server.http.address}/metrics`)).text();
      expect(metrics).toMatch(/omnirelay_limit_refusals_total\{limit="watchersMax"\} [1-9]/);
      expect(metrics).toMatch(/omnirelay_limit_refusals_total\{limit="watchersPerConnectionMax"\} 1/);
    });
  });

  describe('streams', () => {
    let solo: Solo;

    beforeAll(async () => {
      solo = await startSolo(['--grpc-streams-per-connection-max', '2', '--grpc-streams-max', '3']);
    });

    afterAll(async () => {
      await solo.stop();
    });

    it('refuses Campaign, KeepAlive and Watch calls past each bound, and serves those under it', async () => {
      const scope = 'limits/streams';
      const holder = leaseOf(
        await unary(solo.leadership, 'Acquire', { scope, candidateId: 'holder', leaseTtlMs: 30_000 }),
        'lease',
      );
      const a = connect(solo);
      const renewing = keepAlive(a);
      expect(await renewing.next()).toEqual({ results: [] });
      const waiting = new StreamReader(campaign(a, scope, 'waiter'));
      expect((await waiting.next())['state']).toBe('queued');

      await expectRefused(new StreamReader(watch(a, 'limits/')), 'grpcStreamsPerConnectionMax', 2);
      await expectRefused(keepAlive(a), 'grpcStreamsPerConnectionMax', 2);
      const b = connect(solo);
      const other = keepAlive(b);
      expect(await other.next()).toEqual({ results: [] });
      await expectRefused(new StreamReader(campaign(connect(solo), scope, 'late')), 'grpcStreamsMax', 3);

      // The streams under the limits keep working.
      renewing.write();
      expect(await renewing.next()).toEqual({ results: [] });
      const resigned = await unary(solo.leadership, 'Resign', { scope, fenceToken: holder['fenceToken'] });
      expect(leaseOf(resigned, 'successor')['candidateId']).toBe('waiter');
      expect((await waiting.next())['state']).toBe('elected');
      expect((await waiting.end()).error).toBeNull();

      // The elected Campaign ended: its place is free again.
      const c = connect(solo);
      await until('a stream admitted on a new connection', async () => {
        const reader = keepAlive(c);
        try {
          return (await reader.next())['results'] !== undefined;
        } catch {
          return false;
        }
      });
    });
  });

  describe('forwarded calls', () => {
    let solo: Solo;

    beforeAll(async () => {
      solo = await startSolo(['--grpc-streams-per-connection-max', '2', '--grpc-streams-max', '3']);
    });

    afterAll(async () => {
      await solo.stop();
    });

    it('counts them toward grpcStreamsMax only, not toward the follower connection carrying them', async () => {
      const forwarded = new grpc.Metadata();
      forwarded.set(FORWARDED_BY_METADATA_KEY, 'a-follower');
      const a = connect(solo);
      for (let i = 0; i < 3; i++) expect(await keepAlive(a, forwarded).next()).toEqual({ results: [] });
      await expectRefused(keepAlive(a, forwarded), 'grpcStreamsMax', 3);
    });
  });

  describe('a client claiming its calls were forwarded, on a TLS port', () => {
    let solo: Solo;
    let pki: TestPki;

    beforeAll(async () => {
      pki = await makeTestPki(['n1']);
      solo = await startSolo([
        '--grpc-streams-per-connection-max',
        '2',
        '--grpc-streams-max',
        '10',
        ...pki.clientTlsArgs('n1', true),
      ]);
    });

    afterAll(async () => {
      await solo.stop();
      pki.remove();
    });

    it('is bounded per connection like any client: only a member node certificate is believed', async () => {
      const forwarded = new grpc.Metadata();
      forwarded.set(FORWARDED_BY_METADATA_KEY, 'n2');
      const client = new (loadPublicApi().leadership.Client)(
        solo.server.grpcAddress,
        grpc.credentials.createSsl(
          readFileSync(pki.ca),
          readFileSync(pki.key('app')),
          readFileSync(pki.cert('app')),
        ),
        { 'grpc.use_local_subchannel_pool': 1, 'grpc.ssl_target_name_override': 'localhost' },
      );
      opened.push(client);
      for (let i = 0; i < 2; i++) expect(await keepAlive(client, forwarded).next()).toEqual({ results: [] });
      await expectRefused(keepAlive(client, forwarded), 'grpcStreamsPerConnectionMax', 2);
    });
  });
});
