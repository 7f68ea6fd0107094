import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import type { ClientGrpcServer } from '../../src/index';
import { loadPublicApi, startGrpcServer } from '../../src/index';
import type { Msg, Solo } from './grpc-test-helpers';
import {
  StreamReader,
  WAIT_MS,
  duplex,
  errorCodeOf,
  leaseOf,
  metadataOf,
  startSolo,
  unary,
} from './grpc-test-helpers';

/** MuxCall is one WatchStream call and a reader of its responses. */
interface MuxCall {
  readonly call: grpc.ClientDuplexStream<object, Msg>;
  readonly reader: StreamReader;
  create(watchId: number, prefix: string, fromRevision?: number): void;
  cancel(watchId: number): void;
}

function openMux(client: grpc.Client): MuxCall {
  const call = duplex(client, 'WatchStream');
  return {
    call,
    reader: new StreamReader(call),
    create: (watchId, prefix, fromRevision = 0) => {
      call.write({ create: { watchId, prefix, fromRevision } });
    },
    cancel: (watchId) => {
      call.write({ cancel: { watchId } });
    },
  };
}

const idsOf = (m: Msg): string[] => (m['watchIds'] as string[]).map(String);
const createdOf = (m: Msg): string | undefined =>
  (m['created'] as Msg | null)?.['watchId'] as string | undefined;
const canceledOf = (m: Msg): Msg | undefined => (m['canceled'] as Msg | null) ?? undefined;
const scopesOf = (m: Msg): string[] => (m['events'] as Msg[]).map((e) => String(e['scope']));

/** closeMux half-closes the call and waits until the server ended it (its watches are gone then). */
async function closeMux(mux: MuxCall): Promise<void> {
  mux.call.end();
  const { error } = await mux.reader.end();
  expect(error).toBeNull();
}

describe('the WatchStream call (many watches on one stream)', () => {
  jest.setTimeout(60_000);
  const HISTORY_EVENTS_MAX = 100;
  let solo: Solo;

  beforeAll(async () => {
    solo = await startSolo(['--watch-history-events-max', String(HISTORY_EVENTS_MAX)]);
  });

  afterAll(async () => {
    await solo.stop();
  });

  async function acquire(target: Solo, scope: string): Promise<Msg> {
    return leaseOf(
      await unary(target.leadership, 'Acquire', { scope, candidateId: 'a', leaseTtlMs: 10_000 }),
      'lease',
    );
  }

  /** cycle acquires and resigns `scope`: two revisions; it returns the acquire's revision. */
  async function cycle(scope: string): Promise<number> {
    const lease = await acquire(solo, scope);
    await unary(solo.leadership, 'Resign', { scope, fenceToken: lease['fenceToken'] });
    return Number(lease['revision']);
  }

  it('gives each watch exactly its events, and one message listing every watch a revision matched', async () => {
    const mux = openMux(solo.leadership);
    const before = solo.server.hub.watcherCount;
    mux.create(1, 'mux/a/');
    mux.create(2, 'mux/b/');
    mux.create(3, 'mux/');
    const created = [await mux.reader.next(), await mux.reader.next(), await mux.reader.next()];
    expect(created.map(createdOf)).toEqual(['1', '2', '3']);
    // Every watch of the stream is a hub watcher (the omnirelay_watchers gauge and /status count them).
    expect(solo.server.hub.watcherCount).toBe(before + 3);

    const a = await acquire(solo, 'mux/a/x');
    const first = await mux.reader.next();
    expect(Number(first['revision'])).toBe(Number(a['revision']));
    expect(idsOf(first).sort()).toEqual(['1', '3']);
    expect(scopesOf(first)).toEqual(['mux/a/x']);

    const b = await acquire(solo, 'mux/b/y');
    const second = await mux.reader.next();
    expect(Number(second['revision'])).toBe(Number(b['revision']));
    expect(idsOf(second).sort()).toEqual(['2', '3']);
    expect(scopesOf(second)).toEqual(['mux/b/y']);

    // Cancel one: it is answered, and the others go on.
    mux.cancel(3);
    const canceled = canceledOf(await mux.reader.next());
    expect(canceled).toMatchObject({ watchId: '3', code: '', status: 0 });
    expect(solo.server.hub.watcherCount).toBe(before + 2);
    const c = await acquire(solo, 'mux/a/z');
    const third = await mux.reader.next();
    expect(Number(third['revision'])).toBe(Number(c['revision']));
    expect(idsOf(third)).toEqual(['1']);

    // A cancel of an id that is not open is answered NOT_FOUND; the stream stays.
    mux.cancel(3);
    expect(canceledOf(await mux.reader.next())).toMatchObject({ watchId: '3', code: 'NOT_FOUND', status: 5 });

    // A half-close ends the stream OK and every watch on it.
    mux.call.end();
    const { error, messages } = await mux.reader.end();
    expect(error).toBeNull();
    expect(messages).toEqual([]);
    expect(solo.server.hub.watcherCount).toBe(before);
  });

  it('keeps each watch in revision order with no gap or repeat when revisions come in quick succession', async () => {
    const mux = openMux(solo.leadership);
    mux.create(7, 'mux/order/');
    mux.create(8, 'mux/order/a');
    expect(createdOf(await mux.reader.next())).toBe('7');
    expect(createdOf(await mux.reader.next())).toBe('8');
    const revisions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => acquire(solo, `mux/order/${i % 2 === 0 ? 'a' : 'b'}${i}`)),
    );
    const expected = revisions.map((l) => Number(l['revision'])).sort((x, y) => x - y);
    const seen = new Map<string, number[]>([
      ['7', []],
      ['8', []],
    ]);
    for (let i = 0; i < 40 && seen.get('7')!.length < 20; i++) {
      const m = await mux.reader.next();
      for (const id of idsOf(m)) seen.get(id)!.push(Number(m['revision']));
    }
    expect(seen.get('7')).toEqual(expected);
    expect(seen.get('8')).toEqual(
      revisions
        .filter((l) => String(l['scope']).startsWith('mux/order/a'))
        .map((l) => Number(l['revision']))
        .sort((x, y) => x - y),
    );
    await closeMux(mux);
  });

  it('cancels only the bad watch: a bad prefix, a compacted revision, id 0 or an id in use', async () => {
    const first = await cycle('mux/compact/0');
    for (let i = 1; i <= HISTORY_EVENTS_MAX / 2 + 5; i++) await cycle(`mux/compact/${i}`);
    const oldest = solo.server.hub.oldestAvailable;
    expect(oldest).toBeGreaterThan(first);
    const mux = openMux(solo.leadership);
    mux.create(1, 'mux/good/');
    expect(createdOf(await mux.reader.next())).toBe('1');

    mux.create(2, 'Not/Valid Prefix');
    expect(canceledOf(await mux.reader.next())).toMatchObject({
      watchId: '2',
      code: 'INVALID_ARGUMENT',
      status: grpc.status.INVALID_ARGUMENT,
      message: expect.stringMatching(/prefix must be/) as unknown,
    });

    mux.create(3, 'mux/compact/', first);
    expect(canceledOf(await mux.reader.next())).toMatchObject({
      watchId: '3',
      code: 'COMPACTED',
      status: grpc.status.OUT_OF_RANGE,
      oldestRevision: String(oldest),
      message: expect.stringContaining(`the oldest available is ${oldest}`) as unknown,
    });

    mux.create(0, 'mux/');
    expect(canceledOf(await mux.reader.next())).toMatchObject({
      watchId: '0',
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/watch_id must be/) as unknown,
    });

    // An id in use: the create is refused and the watch that had the id is canceled too.
    mux.create(1, 'mux/other/');
    expect(canceledOf(await mux.reader.next())).toMatchObject({
      watchId: '1',
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/watch_id 1 is already in use/) as unknown,
    });
    // The id is free again, and the stream still serves.
    mux.create(1, 'mux/good/');
    expect(createdOf(await mux.reader.next())).toBe('1');
    const lease = await acquire(solo, 'mux/good/x');
    const m = await mux.reader.next();
    expect(idsOf(m)).toEqual(['1']);
    expect(Number(m['revision'])).toBe(Number(lease['revision']));
    await closeMux(mux);
  });

  it('ends the stream with INVALID_ARGUMENT for a request that names neither create nor cancel', async () => {
    const before = solo.server.hub.watcherCount;
    const mux = openMux(solo.leadership);
    mux.create(1, 'mux/');
    expect(createdOf(await mux.reader.next())).toBe('1');
    mux.call.write({});
    const { error } = await mux.reader.end();
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/needs `create` or `cancel`/);
    expect(solo.server.hub.watcherCount).toBe(before);
  });

  it('ends the stream with INVALID_ARGUMENT for bytes that do not decode', async () => {
    const raw = new grpc.Client(solo.server.grpcAddress, grpc.credentials.createInsecure());
    try {
      const call = raw.makeBidiStreamRequest(
        '/omnirelay.leadership.v1.Leadership/WatchStream',
        (b: Buffer) => b,
        (b: Buffer) => b,
        new grpc.Metadata(),
        { deadline: Date.now() + WAIT_MS },
      );
      const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      call.on('data', () => undefined);
      // Field 1 (create), length-delimited, claims 100 bytes and has 1.
      call.write(Buffer.from([0x0a, 0x64, 0x01]));
      const error = await ended;
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toMatch(/not a valid protobuf message/);
    } finally {
      raw.close();
    }
  });

  describe('with watcher limits of 2 per connection', () => {
    let limited: Solo;

    beforeAll(async () => {
      limited = await startSolo(['--watchers-per-connection-max', '2']);
    });

    afterAll(async () => {
      await limited.stop();
    });

    it('counts each watch as a watcher: a create past the limit is canceled LIMIT_REACHED, a cancel frees its place', async () => {
      const mux = openMux(limited.leadership);
      mux.create(1, 'a/');
      mux.create(2, 'b/');
      mux.create(3, 'c/');
      const got = [await mux.reader.next(), await mux.reader.next(), await mux.reader.next()];
      expect(got.slice(0, 2).map(createdOf)).toEqual(['1', '2']);
      expect(canceledOf(got[2]!)).toMatchObject({
        watchId: '3',
        code: 'LIMIT_REACHED',
        status: grpc.status.RESOURCE_EXHAUSTED,
        message: expect.stringMatching(/watchersPerConnectionMax \(2\)/) as unknown,
      });
      mux.cancel(1);
      expect(canceledOf(await mux.reader.next())).toMatchObject({ watchId: '1', code: '' });
      mux.create(4, 'd/');
      expect(createdOf(await mux.reader.next())).toBe('4');
      // The stream's end gives every place back: a new stream on the connection gets two again.
      mux.call.cancel();
      await mux.reader.end();
      const again = openMux(limited.leadership);
      again.create(5, 'e/');
      again.create(6, 'f/');
      expect([await again.reader.next(), await again.reader.next()].map(createdOf)).toEqual(['5', '6']);
      await closeMux(again);
    });
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

    it('cancels a watch that falls behind with RESOURCE_EXHAUSTED and its resume revision; it resumes on the same stream', async () => {
      const from = await cycle('mux/slow/a');
      const mux = openMux(client);
      // The replay collects the first revision, then finds more than one byte queued.
      mux.create(1, 'mux/slow/', from);
      expect(createdOf(await mux.reader.next())).toBe('1');
      const data = await mux.reader.next();
      expect(idsOf(data)).toEqual(['1']);
      expect(Number(data['revision'])).toBe(from);
      expect(canceledOf(await mux.reader.next())).toMatchObject({
        watchId: '1',
        code: 'BACKPRESSURE',
        status: grpc.status.RESOURCE_EXHAUSTED,
        resumeRevision: String(from + 1),
        message: expect.stringMatching(new RegExp(`resume with fromRevision ${from + 1}`)) as unknown,
      });
      // The stream stays open: the watch resumes where it was cut off.
      mux.create(2, 'mux/slow/', from + 1);
      expect(createdOf(await mux.reader.next())).toBe('2');
      const resumed = await mux.reader.next();
      expect(idsOf(resumed)).toEqual(['2']);
      expect(Number(resumed['revision'])).toBe(from + 1);
      await closeMux(mux);
    });
  });

  it('cancels every watch with STOPPED and its resume revision, then ends the stream, when the server stops', async () => {
    const other = await startSolo();
    const lease = leaseOf(
      await unary(other.leadership, 'Acquire', { scope: 'mux/stop', candidateId: 'a', leaseTtlMs: 10_000 }),
      'lease',
    );
    const revision = Number(lease['revision']);
    const mux = openMux(other.leadership);
    mux.create(1, 'mux/', revision);
    mux.create(2, 'elsewhere/');
    expect(createdOf(await mux.reader.next())).toBe('1');
    const data = await mux.reader.next();
    expect(idsOf(data)).toEqual(['1']);
    expect(createdOf(await mux.reader.next())).toBe('2');
    const stopped = other.stop();
    const { error, messages } = await mux.reader.end();
    await stopped;
    const canceled = messages.map(canceledOf);
    expect(canceled).toEqual([
      expect.objectContaining({ watchId: '1', code: 'STOPPED', resumeRevision: String(revision + 1) }),
      expect.objectContaining({ watchId: '2', code: 'STOPPED', resumeRevision: '0' }),
    ]);
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(error && errorCodeOf(error)).toBe('STOPPED');
    expect(error && metadataOf(error, 'omnirelay-resume-revision')).toBeUndefined();
  });
});
