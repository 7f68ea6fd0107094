import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '../../src/index';
import type { TestPki } from '../tls/tls-fixtures';
import { makeTestPki } from '../tls/tls-fixtures';
import { useLocalCluster, waitUntil } from './cluster-helpers';

jest.setTimeout(120_000);

const NODES = ['n1', 'n2', 'n3'];
const FORWARDED_TO = 'x-omnirelay-forwarded-to';

/**
 * A 3-node cluster of real processes with mutual TLS on the peer port and TLS with a client CA on
 * both client ports: followers forward gRPC calls and HTTP requests to the leader over TLS.
 */
describe('a cluster whose client ports speak TLS', () => {
  let pki: TestPki | undefined;
  const files = (): TestPki => {
    if (pki === undefined) throw new Error('the certificates are used before they were made');
    return pki;
  };
  // The certificate files' paths are fixed once minted; LocalCluster reads them at creation.
  const cluster = useLocalCluster('client-tls', {
    size: 3,
    beforeStart: async () => {
      pki = await makeTestPki(NODES);
    },
    nodeEnv: (id) => files().nodeEnv(id, true),
    get clientTls() {
      return { caFile: files().ca, certFile: files().cert('app'), keyFile: files().key('app') };
    },
  });
  let leader = '';
  let follower = '';

  beforeAll(async () => {
    leader = await cluster().waitForLeader(30_000);
    follower = NODES.find((id) => id !== leader)!;
  }, 60_000);

  afterAll(() => pki?.remove());

  it('forwards an HTTP write from a follower to the leader over TLS', async () => {
    const res = await cluster().post(follower, '/leadership/acquire', {
      scope: 'tls/http-forwarded',
      candidateId: 'c1',
      leaseTtlMs: 60_000,
    });
    expect(res.status).toBe(200);
    expect(res.headers[FORWARDED_TO]).toBe(leader);
    expect(res.body).toMatchObject({ granted: true });
  });

  it('forwards a gRPC write from a follower to the leader over TLS', async () => {
    const api = loadPublicApi();
    const credentials = grpc.credentials.createSsl(
      readFileSync(files().ca),
      readFileSync(files().key('app')),
      readFileSync(files().cert('app')),
    );
    const client = new api.leadership.Client(cluster().node(follower).grpcAddress, credentials);
    try {
      const answer = await new Promise<{ response: Record<string, unknown>; headers: grpc.Metadata }>(
        (resolve, reject) => {
          let headers = new grpc.Metadata();
          const call = (
            client as unknown as {
              Acquire(
                request: object,
                options: grpc.CallOptions,
                callback: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void,
              ): grpc.ClientUnaryCall;
            }
          ).Acquire(
            { scope: 'tls/grpc-forwarded', candidateId: 'c2', leaseTtlMs: 60_000 },
            { deadline: Date.now() + 10_000 },
            (e, response) => (e === null ? resolve({ response, headers }) : reject(e)),
          );
          call.on('metadata', (m: grpc.Metadata) => {
            headers = m;
          });
        },
      );
      expect(answer.response).toMatchObject({ granted: true });
      expect(answer.headers.get(FORWARDED_TO)).toEqual([leader]);
    } finally {
      client.close();
    }
  });

  it("records the negotiated protocol of each write in the leader's audit log", async () => {
    const log = cluster().node(leader).logFile;
    await waitUntil('both forwarded grants in the leader log', () =>
      Promise.resolve(
        ['tls/http-forwarded', 'tls/grpc-forwarded'].every((scope) =>
          readFileSync(log, 'utf8').includes(scope),
        ),
      ),
    );
    const granted = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"holder changed"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(granted).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ scope: 'tls/http-forwarded', transport: 'http/1.1' }),
        expect.objectContaining({ scope: 'tls/grpc-forwarded', transport: 'h2' }),
      ]),
    );
  });
});
