import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { loadPublicApi } from '../../src/index';
import type { ForwardedAnswer, ForwardedCall, LocalUnary } from '../../src/grpc/forward-stream';
import { ForwardStreams } from '../../src/grpc/forward-stream';
import type { Solo } from './grpc-test-helpers';
import { StreamReader, startSolo } from './grpc-test-helpers';

const identity = (b: Buffer): Buffer => b;

/** ForwardCall is an open Cluster.Forward call of a test client. */
interface ForwardCall {
  readonly stream: grpc.ClientDuplexStream<unknown, { answers: ForwardedAnswer[] }>;
  /** answers resolves with the answers of the ids given, by id, once all arrived. */
  answers(ids: readonly number[]): Promise<Map<number, ForwardedAnswer>>;
}

/** openForward opens Cluster.Forward on `client` (as a member would, naming itself `m9`). */
function openForward(client: grpc.Client): ForwardCall {
  const method = loadPublicApi().cluster.definition['Forward']!;
  const metadata = new grpc.Metadata();
  metadata.set('x-omnirelay-forwarded-by', 'm9');
  const stream = client.makeBidiStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize as (b: Buffer) => { answers: ForwardedAnswer[] },
    metadata,
    { deadline: Date.now() + 10_000 },
  );
  stream.on('error', () => undefined);
  const got = new Map<number, ForwardedAnswer>();
  stream.on('data', (m: { answers: ForwardedAnswer[] }) => {
    for (const a of m.answers) got.set(a.id, a);
  });
  return {
    stream,
    answers: async (ids) => {
      for (let i = 0; i < 500 && !ids.every((id) => got.has(id)); i++)
        await new Promise((r) => setTimeout(r, 10));
      return got;
    },
  };
}

function call(
  id: number,
  method: string,
  request: Buffer,
): Omit<ForwardedCall, 'headers'> & { headers: object } {
  return { id, method, request, headers: {} };
}

describe('Cluster.Forward on a leader', () => {
  jest.setTimeout(30_000);
  let solo: Solo;
  const api = loadPublicApi();
  const acquire = api.leadership.definition['Acquire']!;

  beforeAll(async () => {
    solo = await startSolo();
  });
  afterAll(async () => {
    await solo.stop();
  });

  it('serves each forwarded call as the same call made directly and answers them by id', async () => {
    const forward = openForward(solo.cluster);
    forward.stream.write({
      calls: [
        call(7, 'Acquire', acquire.requestSerialize({ scope: 'fwd/a', candidateId: 'a', leaseTtlMs: 5000 })),
        call(8, 'Acquire', acquire.requestSerialize({ scope: 'fwd/a', candidateId: 'b', leaseTtlMs: 5000 })),
        call(9, 'Status', api.cluster.definition['Status']!.requestSerialize({})),
      ],
    });
    const answers = await forward.answers([7, 8, 9]);
    forward.stream.end();
    const first = acquire.responseDeserialize(answers.get(7)!.response!) as Record<string, unknown>;
    const second = acquire.responseDeserialize(answers.get(8)!.response!) as Record<string, unknown>;
    expect(answers.get(7)!.code).toBe(grpc.status.OK);
    expect(first).toMatchObject({ granted: true, lease: { scope: 'fwd/a', candidateId: 'a' } });
    expect(second).toMatchObject({ granted: false, lease: { candidateId: 'a' } });
    const status = api.cluster.definition['Status']!.responseDeserialize(answers.get(9)!.response!) as Record<
      string,
      unknown
    >;
    expect(status).toMatchObject({ nodeId: 'solo', role: 'leader', leader: 'solo' });
  });

  it('answers a bad request INVALID_ARGUMENT, an unknown or streaming method UNIMPLEMENTED, and keeps the call open', async () => {
    const forward = openForward(solo.cluster);
    forward.stream.write({
      calls: [
        call(1, 'Acquire', acquire.requestSerialize({ scope: '', candidateId: 'a', leaseTtlMs: 5000 })),
        call(2, 'Acquire', Buffer.from([0xff, 0xff, 0xff])),
        call(3, 'Nope', Buffer.alloc(0)),
        call(4, 'Campaign', Buffer.alloc(0)),
      ],
    });
    const answers = await forward.answers([1, 2, 3, 4]);
    expect([1, 2, 3, 4].map((id) => grpc.status[answers.get(id)!.code])).toEqual([
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'UNIMPLEMENTED',
      'UNIMPLEMENTED',
    ]);
    expect(answers.get(1)!.trailers).toMatchObject({ 'omnirelay-error-code': 'INVALID_SCOPE' });
    expect(answers.get(3)!.details).toMatch(/no unary method "Nope" can be forwarded/);
    // Still open: a good call after the bad ones is served.
    forward.stream.write({
      calls: [
        call(5, 'Acquire', acquire.requestSerialize({ scope: 'fwd/b', candidateId: 'a', leaseTtlMs: 5000 })),
      ],
    });
    expect((await forward.answers([5])).get(5)!.code).toBe(grpc.status.OK);
    forward.stream.end();
  });

  it('ends the call INVALID_ARGUMENT when a message does not decode', async () => {
    const method = api.cluster.definition['Forward']!;
    const stream = solo.cluster.makeBidiStreamRequest(method.path, identity, identity, new grpc.Metadata(), {
      deadline: Date.now() + 10_000,
    });
    const reader = new StreamReader(
      stream as unknown as grpc.ClientDuplexStream<object, Record<string, unknown>>,
    );
    stream.write(Buffer.from([0x0a, 0xff]));
    const ended = await reader.end();
    expect(ended.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(ended.error?.details).toMatch(/a Forward message did not decode/);
  });

  it('counts each forwarded call in omnirelay requests by its status', async () => {
    const metric = async (): Promise<number> => {
      const text = await (await fetch(`http://${solo.server.http.address}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('omnirelay_requests_total{edge="grpc",code="UNIMPLEMENTED"}'));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const before = await metric();
    const forward = openForward(solo.cluster);
    forward.stream.write({ calls: [call(1, 'Nope', Buffer.alloc(0)), call(2, 'Nope', Buffer.alloc(0))] });
    await forward.answers([1, 2]);
    forward.stream.end();
    expect((await metric()) - before).toBe(2);
  });
});

describe('Cluster.Forward in-flight bound', () => {
  jest.setTimeout(30_000);
  let server: grpc.Server;
  let client: grpc.Client;

  beforeAll(async () => {
    const api = loadPublicApi();
    // A method that never answers, so every call stays in flight.
    const hold: LocalUnary = {
      handler: () => undefined,
      decode: (b) => b,
      encode: (v) => v as Buffer,
    };
    server = new grpc.Server();
    server.addService(api.cluster.definition, {
      Forward: new ForwardStreams({
        unaries: new Map([['Hold', hold]]),
        logger: pino({ level: 'silent' }),
        inFlightMax: 2,
      }).handler,
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e === null ? resolve(p) : reject(e),
      ),
    );
    client = new api.cluster.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('answers a call past the bound RESOURCE_EXHAUSTED at once, saying what to do', async () => {
    const forward = openForward(client);
    forward.stream.write({ calls: [1, 2, 3].map((id) => call(id, 'Hold', Buffer.alloc(0))) });
    const answers = await forward.answers([3]);
    forward.stream.cancel();
    expect([...answers.keys()]).toEqual([3]);
    expect(answers.get(3)!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(answers.get(3)!.details).toMatch(/more than 2 calls are waiting on this node in one Forward call/);
  });
});

describe('Cluster.Forward at shutdown', () => {
  jest.setTimeout(30_000);

  it('ends an idle Forward call OK when the leader stops, rather than holding the shutdown', async () => {
    const solo = await startSolo();
    const forward = openForward(solo.cluster);
    const status = new Promise<grpc.StatusObject>((resolve) => forward.stream.on('status', resolve));
    forward.stream.write({
      calls: [call(1, 'Status', loadPublicApi().cluster.definition['Status']!.requestSerialize({}))],
    });
    expect((await forward.answers([1])).get(1)!.code).toBe(grpc.status.OK);
    await solo.stop();
    expect((await status).code).toBe(grpc.status.OK);
  });
});
