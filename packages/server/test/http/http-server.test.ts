import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { RAFT_NODE_DEFAULTS, RaftNode } from '@omnirelay/raft';
import type { ClientHttpServer, KvResult } from '../../src/index';
import { KvStateMachine, freePort, startHttpServer } from '../../src/index';

describe('the client HTTP port', () => {
  jest.setTimeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-http-'));
  const logger: Logger = pino({ level: 'silent' });
  let node: RaftNode<KvResult>;
  let http: ClientHttpServer;
  const kv = new KvStateMachine();

  beforeAll(async () => {
    node = await RaftNode.start(
      {
        ...RAFT_NODE_DEFAULTS,
        clusterId: 't',
        id: 'solo',
        dataDir: dir,
        peerAddress: `127.0.0.1:${await freePort()}`,
        peers: {},
        bootstrapVoters: ['solo'],
      },
      kv,
      logger,
    );
    http = await startHttpServer({
      address: '127.0.0.1:0',
      clientAddress: 'x',
      node,
      kv,
      bodyBytesMax: 1024,
      version: 'test',
      logger,
    });
    const deadline = Date.now() + 10_000;
    while (!node.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  });

  afterAll(async () => {
    await http.close();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(
    method: string,
    path: string,
    body?: string,
  ): Promise<{
    status: number;
    json: { error?: { code: string; message: string } } & Record<string, unknown>;
  }> {
    const res = await fetch(`http://${http.address}${path}`, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.status, json: (await res.json()) as { error?: { code: string; message: string } } };
  }

  it('commits a write and shows it in the digest', async () => {
    const before = kv.summary().count;
    const res = await call('POST', '/debug/kv', JSON.stringify({ key: 'a', value: 'b' }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ok: true, leader: 'solo' });
    expect((await call('GET', '/debug/kv/digest')).json['count']).toBe(before + 1);
  });

  it('answers /status, /healthz and /readyz', async () => {
    expect((await call('GET', '/status')).json).toMatchObject({ id: 'solo', role: 'leader', leader: 'solo' });
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
  });

  it.each([
    ['malformed JSON', '{"key":', 400, 'INVALID_ARGUMENT'],
    ['a missing value', '{"key":"a"}', 400, 'INVALID_ARGUMENT'],
    ['an empty key', '{"key":"","value":"x"}', 400, 'INVALID_ARGUMENT'],
    [
      'a body over the limit',
      JSON.stringify({ key: 'k', value: 'x'.repeat(2000) }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ])('refuses %s with a JSON error and commits nothing', async (_what, body, status, code) => {
    const before = kv.summary().count;
    const res = await call('POST', '/debug/kv', body);
    expect(res.status).toBe(status);
    expect(res.json.error?.code).toBe(code);
    expect(res.json.error?.message.length).toBeGreaterThan(10);
    expect(kv.summary().count).toBe(before);
  });

  it('answers an unknown route with 404 and a wrong method with 400 naming the right one', async () => {
    expect((await call('GET', '/nope')).json.error?.code).toBe('NOT_FOUND');
    const wrong = await call('DELETE', '/status');
    expect(wrong.status).toBe(400);
    expect(wrong.json.error?.message).toMatch(/use GET \/status/);
  });
});
