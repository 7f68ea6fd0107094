import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { Packr } from 'msgpackr';
import { pino } from 'pino';
import { decodeEnvelope, encodeEnvelope } from '../../src/leadership/envelope';
import { loadPublicApi } from '../../src/index';
import { unary } from '../grpc/grpc-test-helpers';
import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';

/** HolderLine is the part of a 'holder changed' log line this test reads. */
interface HolderLine {
  readonly msg: string;
  readonly scope: string;
  readonly reason: string;
  readonly transport: string;
}

describe('every audit event records how its request arrived', () => {
  const lines: HolderLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.includes('"holder changed"')) lines.push(JSON.parse(line) as HolderLine);
      }
      done();
    },
  });
  let node: SingleNode;
  beforeAll(async () => {
    node = await startSingleNode([], pino({ level: 'info' }, sink));
  });
  afterAll(async () => {
    await node.stop();
  });

  const transportOf = async (scope: string, reason: string): Promise<string> => {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const line = lines.find((l) => l.scope === scope && l.reason === reason);
      if (line !== undefined) return line.transport;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no '${reason}' holder change for ${scope}`);
  };

  it('HTTP/1.1 for a JSON request, h2c for a gRPC call, internal for an expiry', async () => {
    const res = await fetch(`http://${node.server.http.address}/leadership/acquire`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'origin/http', candidateId: 'a', leaseTtlMs: 500 }),
    });
    expect(res.status).toBe(200);
    expect(await transportOf('origin/http', 'granted')).toBe('HTTP/1.1');
    // Nobody renews it: the server expires it by itself.
    expect(await transportOf('origin/http', 'expired')).toBe('internal');

    const client = new (loadPublicApi().leadership.Client)(
      node.server.grpcAddress,
      grpc.credentials.createInsecure(),
    );
    try {
      await unary(client, 'Acquire', { scope: 'origin/grpc', candidateId: 'a', leaseTtlMs: 60_000 });
      expect(await transportOf('origin/grpc', 'granted')).toBe('h2c');
    } finally {
      client.close();
    }
  });
});

describe('envelope', () => {
  it('round-trips the transport and principal, and reads entries written before either was recorded', () => {
    const command = Uint8Array.from([1, 2, 3]);
    const e = decodeEnvelope(
      encodeEnvelope({ stampMs: 5, proposerId: 'n1', command, transport: 'h2c', principal: 'token/ops' }),
    );
    expect(e).toEqual({ stampMs: 5, proposerId: 'n1', command, transport: 'h2c', principal: 'token/ops' });
    const packr = new Packr({ useRecords: false });
    const old = packr.pack([1, 5, 'n1', command]);
    expect(decodeEnvelope(old)).toEqual({
      stampMs: 5,
      proposerId: 'n1',
      command,
      transport: '',
      principal: '',
    });
    const noPrincipal = packr.pack([1, 5, 'n1', command, 'h2']);
    expect(decodeEnvelope(noPrincipal)).toEqual({
      stampMs: 5,
      proposerId: 'n1',
      command,
      transport: 'h2',
      principal: '',
    });
    expect(decodeEnvelope(packr.pack([1, 5, 'n1', command, 7]))).toBe('bad transport');
    expect(decodeEnvelope(packr.pack([1, 5, 'n1', command, 'h2', 7]))).toBe('bad principal');
    expect(decodeEnvelope(packr.pack([1, 5, 'n1', command, 'h2', 'x'.repeat(257)]))).toBe('bad principal');
    expect(decodeEnvelope(packr.pack([1, 5, 'n1', command, 'h2', '', 'extra']))).toBe('not an envelope');
  });
});
