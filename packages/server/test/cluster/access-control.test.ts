import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { issueClient } from '@omnirelay/certs';
import type { LocalCluster } from '../../src/index';
import { createClient, isOmniRelayError } from '../../../client-sdk/src/index';
import { loadPublicApi } from '../../src/index';
import { tokenHash } from '../../src/auth/tokens-file';
import type { Msg } from '../grpc/grpc-test-helpers';
import { unary } from '../grpc/grpc-test-helpers';
import type { TestPki } from '../tls/tls-fixtures';
import { makeTestPki } from '../tls/tls-fixtures';
import { stateOf, steadyViews, useLocalCluster, view, waitUntil } from './cluster-helpers';

jest.setTimeout(120_000);

const NODES = ['n1', 'n2', 'n3'];
const DAY_MS = 86_400_000;

/** Unchanged is what a refused call must leave as it was: every node's view and the leader's applied state. */
interface Unchanged {
  readonly views: string[];
  readonly digest: string;
  readonly applied: number;
}

/** settled waits for a steady cluster (agreed leader, term and commit, nothing left to commit) and reads what must not move. */
async function settled(cluster: LocalCluster, leader: string): Promise<Unchanged> {
  const views = await steadyViews(cluster, NODES);
  const state = await stateOf(cluster, leader);
  if (state === undefined) throw new Error(`${leader} did not report its state`);
  return { views, digest: state.digest, applied: state.lastAppliedIndex };
}

/** expectUnchanged checks, half a second after a refused call, that nothing was proposed or applied. */
async function expectUnchanged(cluster: LocalCluster, leader: string, before: Unchanged): Promise<void> {
  await new Promise((r) => setTimeout(r, 500));
  const views = (await Promise.all(NODES.map((id) => cluster.status(id)))).map(view);
  const state = await stateOf(cluster, leader);
  expect({ views, digest: state?.digest, applied: state?.lastAppliedIndex }).toEqual(before);
}

/** client is a client of one of the public services at `address` with `credentials`. */
function client(
  kind: 'leadership' | 'cluster',
  address: string,
  credentials: grpc.ChannelCredentials,
): grpc.Client {
  const api = loadPublicApi();
  return new api[kind].Client(address, credentials, { 'grpc.use_local_subchannel_pool': 1 });
}

/** outcome calls a unary method and answers `OK` or the refusal's status name and details. */
async function outcome(
  kind: 'leadership' | 'cluster',
  address: string,
  credentials: grpc.ChannelCredentials,
  method: string,
  request: object,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<string> {
  const c = client(kind, address, credentials);
  try {
    await unary(c, method, request, metadata);
    return 'OK';
  } catch (e) {
    const error = e as grpc.ServiceError;
    return `${grpc.status[error.code]}: ${error.details}`;
  } finally {
    c.close();
  }
}

/** https sends one HTTPS request to `address` and answers its status and JSON body, or the connection error. */
function https(
  address: string,
  options: { ca: Buffer; cert?: Buffer; key?: Buffer; token?: string },
  method: string,
  path: string,
  body?: object,
): Promise<{ status: number; body: Record<string, unknown>; text: string } | { error: string }> {
  const [host, port] = address.split(':');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = httpsRequest(
      {
        host,
        port: Number(port),
        method,
        path,
        ca: options.ca,
        ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
        servername: 'localhost',
        timeout: 5000,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // Not JSON (/metrics): the text is there.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end(payload);
  });
}

/** holderChanges are the leader log's 'holder changed' lines for `scope`. */
function holderChanges(cluster: LocalCluster, id: string, scope: string): Array<Record<string, unknown>> {
  return readFileSync(cluster.node(id).logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"holder changed"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l['scope'] === scope);
}

/** denials are a node's 'access denied' log lines. */
function denials(cluster: LocalCluster, id: string): Array<Record<string, unknown>> {
  return readFileSync(cluster.node(id).logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('access denied'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('access control with client certificates on a 3-node cluster (peer mTLS, client CA)', () => {
  let pki: TestPki | undefined;
  const files = (): TestPki => {
    if (pki === undefined) throw new Error('the certificates are used before they were made');
    return pki;
  };
  const cluster = useLocalCluster('access-certs', {
    size: 3,
    extraArgs: ['--election-timeout-ms', '1000', '--heartbeat-ms', '100', '--stall-threshold-ms', '10000'],
    beforeStart: async () => {
      pki = await makeTestPki(NODES);
      const common = { caDir: pki.dir, clusterId: 'omnirelay' };
      await issueClient({ ...common, outDir: pki.dir, name: 'reader', roles: ['mesh.read'] });
      await issueClient({ ...common, outDir: pki.dir, name: 'operator', roles: ['mesh.operate'] });
      await issueClient({
        ...common,
        outDir: pki.dir,
        name: 'orders',
        roles: ['mesh.read'],
        scopePrefixes: ['shard/orders/'],
      });
      const now = Date.now();
      await issueClient({
        ...common,
        outDir: join(pki.dir, 'expired'),
        name: 'app',
        roles: ['mesh.admin'],
        notBefore: new Date(now - 2 * DAY_MS),
        notAfter: new Date(now - DAY_MS),
      });
      await issueClient({
        ...common,
        outDir: join(pki.dir, 'future'),
        name: 'app',
        roles: ['mesh.admin'],
        notBefore: new Date(now + DAY_MS),
        notAfter: new Date(now + 2 * DAY_MS),
      });
    },
    nodeEnv: (id) => files().nodeEnv(id, true),
    get clientTls() {
      return { caFile: files().ca, certFile: files().cert('app'), keyFile: files().key('app') };
    },
  });
  afterAll(() => pki?.remove());

  const as = (name: string, dir = files().dir): grpc.ChannelCredentials =>
    grpc.credentials.createSsl(
      readFileSync(files().ca),
      readFileSync(join(dir, `${name}.key`)),
      readFileSync(join(dir, `${name}.crt`)),
    );
  let leader = '';
  let follower = '';

  beforeAll(async () => {
    leader = await cluster().waitForLeader(30_000);
    follower = NODES.find((id) => id !== leader)!;
  }, 60_000);

  it("refuses no certificate, a foreign CA's, an expired and a not-yet-valid one at the handshake, and nothing changes", async () => {
    const before = await settled(cluster(), leader);
    const address = cluster().node(leader).grpcAddress;
    const acquire = { scope: 'certs/refused', candidateId: 'x', leaseTtlMs: 60_000 };
    const attempts: Array<[string, grpc.ChannelCredentials]> = [
      ['no certificate', grpc.credentials.createSsl(readFileSync(files().ca))],
      ["a foreign CA's certificate", as('app', join(files().dir, 'foreign'))],
      ['an expired certificate', as('app', join(files().dir, 'expired'))],
      ['a not-yet-valid certificate', as('app', join(files().dir, 'future'))],
    ];
    for (const [what, credentials] of attempts) {
      const answer = await outcome('leadership', address, credentials, 'Acquire', acquire);
      expect(`${what}: ${answer.split(':')[0]!}`).toBe(`${what}: UNAVAILABLE`);
    }
    const http = await https(
      cluster().node(leader).clientAddress,
      { ca: readFileSync(files().ca) },
      'POST',
      '/leadership/acquire',
      acquire,
    );
    expect(http).toHaveProperty('error');
    await expectUnchanged(cluster(), leader, before);
    const refusals = readFileSync(cluster().node(leader).logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('refused a TLS handshake'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      // The peer port logs its own refusals (a peer connection torn down mid-handshake, under load).
      .filter((l) => l['port'] !== 'peer');
    expect(new Set(refusals.map((l) => l['port']))).toEqual(new Set(['grpc', 'http']));
    expect(refusals.map((l) => [l['port'], l['remoteAddress'], l['reason']])).toEqual(
      expect.arrayContaining([
        ['grpc', '127.0.0.1', 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'],
        ['http', '127.0.0.1', 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'],
        ['grpc', '127.0.0.1', expect.stringMatching(/^closed before the TLS handshake completed/)],
      ]),
    );
    const metrics = await https(
      cluster().node(leader).clientAddress,
      {
        ca: readFileSync(files().ca),
        cert: readFileSync(files().cert('app')),
        key: readFileSync(files().key('app')),
      },
      'GET',
      '/metrics',
    );
    const text = 'text' in metrics ? metrics.text : '';
    expect(text).toMatch(/omnirelay_tls_handshakes_refused_total\{port="grpc"\} [1-9]/);
    expect(text).toMatch(/omnirelay_tls_handshakes_refused_total\{port="http"\} [1-9]/);
  });

  it('refuses RemoveMember to an operate-only identity, naming it, the action and the role, on gRPC and HTTP', async () => {
    const before = await settled(cluster(), leader);
    expect(
      await outcome('cluster', cluster().node(leader).grpcAddress, as('operator'), 'RemoveMember', {
        id: follower,
      }),
    ).toBe(
      'PERMISSION_DENIED: client/operator may not call RemoveMember: it needs role mesh.admin (it has roles mesh.operate; no scope prefix)',
    );
    const http = await https(
      cluster().node(leader).clientAddress,
      {
        ca: readFileSync(files().ca),
        cert: readFileSync(files().cert('operator')),
        key: readFileSync(files().key('operator')),
      },
      'POST',
      '/cluster/remove',
      { id: follower },
    );
    expect(http).toMatchObject({
      status: 403,
      body: {
        error: {
          code: 'PERMISSION_DENIED',
          identity: 'client/operator',
          action: 'POST /cluster/remove',
        },
      },
    });
    await expectUnchanged(cluster(), leader, before);
    expect(denials(cluster(), leader)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          identity: 'client/operator',
          action: 'RemoveMember',
          missing: 'mesh.admin',
        }),
      ]),
    );
  });

  it('refuses campaigning outside the scope prefix, and records the caller of a grant inside it', async () => {
    const before = await settled(cluster(), leader);
    const address = cluster().node(leader).grpcAddress;
    expect(
      await outcome('leadership', address, as('orders'), 'Acquire', {
        scope: 'shard/billing/1',
        candidateId: 'orders-1',
        leaseTtlMs: 60_000,
      }),
    ).toMatch(/^PERMISSION_DENIED: client\/orders may not call Acquire for scope "shard\/billing\/1"/);
    await expectUnchanged(cluster(), leader, before);
    expect(
      await outcome('leadership', address, as('orders'), 'Acquire', {
        scope: 'shard/orders/1',
        candidateId: 'orders-1',
        leaseTtlMs: 60_000,
      }),
    ).toBe('OK');
    await waitUntil('the grant in the leader log', () =>
      Promise.resolve(holderChanges(cluster(), leader, 'shard/orders/1').length > 0),
    );
    expect(holderChanges(cluster(), leader, 'shard/orders/1')[0]).toMatchObject({
      reason: 'granted',
      principal: 'client/orders',
      transport: 'h2',
    });
  });

  it("authorizes a call a follower forwards as its caller: an operator's StepDown succeeds and is recorded as the operator, a reader's is refused", async () => {
    const address = cluster().node(follower).grpcAddress;
    const scope = 'shard/orders/2';
    expect(
      await outcome('leadership', cluster().node(leader).grpcAddress, as('orders'), 'Acquire', {
        scope,
        candidateId: 'orders-2',
        leaseTtlMs: 60_000,
      }),
    ).toBe('OK');
    const before = await settled(cluster(), leader);
    expect(await outcome('leadership', address, as('reader'), 'StepDown', { scope })).toMatch(
      /^PERMISSION_DENIED: client\/reader may not call StepDown: it needs role mesh\.operate/,
    );
    await expectUnchanged(cluster(), leader, before);
    expect(await outcome('leadership', address, as('operator'), 'StepDown', { scope })).toBe('OK');
    await waitUntil('the step-down in the leader log', () =>
      Promise.resolve(holderChanges(cluster(), leader, scope).some((l) => l['reason'] === 'steppedDown')),
    );
    expect(holderChanges(cluster(), leader, scope).find((l) => l['reason'] === 'steppedDown')).toMatchObject({
      principal: 'client/operator',
    });
  });
});

describe('access control with bearer tokens on a 3-node cluster (TLS, tokens files)', () => {
  let pki: TestPki | undefined;
  const files = (): TestPki => {
    if (pki === undefined) throw new Error('the certificates are used before they were made');
    return pki;
  };
  const token = (): string => `omr_${randomBytes(32).toString('base64url')}`;
  const TOKENS = {
    admin: token(),
    reader: token(),
    ops: token(),
    revoked: token(),
    orders: token(),
  } as const;
  const ROLES: Record<keyof typeof TOKENS, string> = {
    admin: 'mesh.admin',
    reader: 'mesh.read',
    ops: 'mesh.operate',
    revoked: 'mesh.admin',
    orders: 'mesh.read',
  };
  const scopesOf = (n: keyof typeof TOKENS): string => (n === 'orders' ? 'shard/orders/' : '"*"');
  const tokensFile = (id: string): string => join(files().dir, `tokens-${id}.yaml`);
  /** writeTokens writes node `id`'s tokens file atomically: `names` with their roles, with `override`s. */
  const writeTokens = (
    id: string,
    names: Array<keyof typeof TOKENS>,
    override: Partial<typeof ROLES> = {},
  ): void => {
    const lines = names.map(
      (n) =>
        `  - name: ${n}\n    sha256: ${tokenHash(TOKENS[n])}\n    roles: [${override[n] ?? ROLES[n]}]\n    scopes: [${scopesOf(n)}]\n`,
    );
    writeFileSync(`${tokensFile(id)}.tmp`, `tokens:\n${lines.join('')}`);
    renameSync(`${tokensFile(id)}.tmp`, tokensFile(id));
  };
  const cluster = useLocalCluster('access-tokens', {
    size: 3,
    extraArgs: ['--election-timeout-ms', '1000', '--heartbeat-ms', '100', '--stall-threshold-ms', '10000'],
    beforeStart: async () => {
      pki = await makeTestPki(NODES);
      for (const id of NODES) writeTokens(id, ['admin', 'reader', 'ops', 'revoked', 'orders']);
    },
    nodeEnv: (id) => ({ ...files().nodeEnv(id, false), OMNIRELAY_AUTH_TOKENS_FILE: tokensFile(id) }),
    get clientTls() {
      return { caFile: files().ca };
    },
    authToken: TOKENS.admin,
  });
  afterAll(() => pki?.remove());

  const tls = (): grpc.ChannelCredentials => grpc.credentials.createSsl(readFileSync(files().ca));
  const bearer = (value: string | undefined): grpc.Metadata => {
    const m = new grpc.Metadata();
    if (value !== undefined) m.set('authorization', value);
    return m;
  };
  /** reloaded waits until node `id` logged `count` tokens-file reloads. */
  const reloaded = (id: string, count: number): Promise<void> =>
    waitUntil(`${id} to reload its tokens file`, () =>
      Promise.resolve(
        readFileSync(cluster().node(id).logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes('tokens file reloaded')).length >= count,
      ),
    );
  let leader = '';
  let follower = '';

  beforeAll(async () => {
    leader = await cluster().waitForLeader(30_000);
    follower = NODES.find((id) => id !== leader)!;
  }, 60_000);

  it('refuses a missing, malformed or unknown token UNAUTHENTICATED and one lacking the role PERMISSION_DENIED, and nothing changes', async () => {
    const before = await settled(cluster(), leader);
    const address = cluster().node(leader).grpcAddress;
    const stepDown = { scope: 'global-control' };
    const answers = [
      await outcome('leadership', address, tls(), 'StepDown', stepDown, bearer(undefined)),
      await outcome('leadership', address, tls(), 'StepDown', stepDown, bearer('Bearer short')),
      await outcome('leadership', address, tls(), 'StepDown', stepDown, bearer(`Bearer ${token()}`)),
      await outcome('leadership', address, tls(), 'StepDown', stepDown, bearer(`Bearer ${TOKENS.reader}`)),
    ];
    expect(answers).toEqual([
      expect.stringMatching(/^UNAUTHENTICATED: StepDown needs credentials/),
      expect.stringMatching(
        /^UNAUTHENTICATED: StepDown refused: the Authorization header is not "Bearer <token>"/,
      ),
      expect.stringMatching(
        /^UNAUTHENTICATED: StepDown refused: the bearer token is not in this node's tokens file/,
      ),
      'PERMISSION_DENIED: token/reader may not call StepDown: it needs role mesh.operate (it has roles mesh.read; scope prefixes *)',
    ]);
    const ca = readFileSync(files().ca);
    const http = cluster().node(leader).clientAddress;
    expect(await https(http, { ca }, 'GET', '/status')).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED' } },
    });
    expect(
      await https(http, { ca, token: TOKENS.reader }, 'POST', '/leadership/stepdown', stepDown),
    ).toMatchObject({
      status: 403,
      body: { error: { code: 'PERMISSION_DENIED', identity: 'token/reader' } },
    });
    expect(await https(http, { ca }, 'GET', '/healthz')).toMatchObject({ status: 200 });
    await expectUnchanged(cluster(), leader, before);
    const logged = readFileSync(cluster().node(leader).logFile, 'utf8');
    for (const secret of Object.values(TOKENS)) expect(logged).not.toContain(secret);
  });

  it('authorizes each call an SDK client carries over Leadership.Calls exactly as the call made on its own, on the leader and through a follower', async () => {
    const ca = readFileSync(files().ca);
    const outcomes = async (multiplexCalls: boolean): Promise<string[]> => {
      const out: string[] = [];
      for (const via of [leader, follower]) {
        for (const token of [undefined, TOKENS.reader, TOKENS.ops]) {
          const sdk = createClient({
            endpoints: [cluster().node(via).grpcAddress],
            tls: { ca },
            callTimeoutMs: 5000,
            multiplexCalls,
            ...(token === undefined ? {} : { token }),
          });
          try {
            // A scope nobody holds: an allowed step-down is refused by the service itself.
            await sdk.stepDown('acl/calls/vacant');
            out.push('OK');
          } catch (e) {
            out.push(isOmniRelayError(e) ? `${e.code}: ${e.message}` : String(e));
          } finally {
            sdk.close();
          }
        }
      }
      return out;
    };
    const carried = await outcomes(true);
    expect(carried).toEqual(await outcomes(false));
    expect(carried.slice(0, 3)).toEqual([
      expect.stringMatching(/^UNAUTHENTICATED: StepDown needs credentials/),
      'PERMISSION_DENIED: token/reader may not call StepDown: it needs role mesh.operate (it has roles mesh.read; scope prefixes *)',
      // Allowed: the service itself answers.
      'NOT_HOLDER: scope "acl/calls/vacant" has no holder to step down',
    ]);
  });

  it('stops honouring a token once the tokens files drop it, without a restart', async () => {
    const ca = readFileSync(files().ca);
    const http = cluster().node(leader).clientAddress;
    expect(await https(http, { ca, token: TOKENS.revoked }, 'GET', '/status')).toMatchObject({ status: 200 });
    for (const id of NODES) writeTokens(id, ['admin', 'reader', 'ops', 'orders']);
    for (const id of NODES) await reloaded(id, 1);
    const before = await settled(cluster(), leader);
    expect(
      await https(http, { ca, token: TOKENS.revoked }, 'POST', '/cluster/remove', { id: follower }),
    ).toMatchObject({
      status: 401,
      body: {
        error: { code: 'UNAUTHENTICATED', message: expect.stringMatching(/unknown or revoked/) as string },
      },
    });
    await expectUnchanged(cluster(), leader, before);
  });

  it("authorizes a forwarded call on the leader with the leader's own tokens, never as the forwarding node", async () => {
    // The follower grants ops mesh.operate; the leader only mesh.read: a StepDown through the
    // follower passes its check, is forwarded with the caller's token, and the leader refuses it.
    writeTokens(leader, ['admin', 'reader', 'ops', 'orders'], { ops: 'mesh.read' });
    await reloaded(leader, 2);
    const before = await settled(cluster(), leader);
    const answer = await outcome(
      'leadership',
      cluster().node(follower).grpcAddress,
      tls(),
      'StepDown',
      { scope: 'global-control' },
      bearer(`Bearer ${TOKENS.ops}`),
    );
    expect(answer).toBe(
      'PERMISSION_DENIED: token/ops may not call StepDown: it needs role mesh.operate (it has roles mesh.read; scope prefixes *)',
    );
    await expectUnchanged(cluster(), leader, before);
    expect(denials(cluster(), leader)).toEqual(
      expect.arrayContaining([expect.objectContaining({ identity: 'token/ops', action: 'StepDown' })]),
    );
    expect(denials(cluster(), follower).filter((l) => l['identity'] === 'token/ops')).toEqual([]);
    const metrics = await https(
      cluster().node(leader).clientAddress,
      { ca: readFileSync(files().ca), token: TOKENS.admin },
      'GET',
      '/metrics',
    );
    expect('text' in metrics ? metrics.text : '').toMatch(
      /omnirelay_access_denied_total\{action="StepDown",reason="permission_denied"\} [1-9]/,
    );
  });

  it('answers a KeepAlive lease outside the caller’s scope prefixes PERMISSION_DENIED and renews the others', async () => {
    const c = client('leadership', cluster().node(leader).grpcAddress, tls());
    try {
      const fences: string[] = [];
      for (const scope of ['shard/orders/9', 'shard/billing/9']) {
        const granted = await unary(
          c,
          'Acquire',
          { scope, candidateId: 'k', leaseTtlMs: 60_000 },
          bearer(`Bearer ${TOKENS.admin}`),
        );
        fences.push((granted['lease'] as { fenceToken: string }).fenceToken);
      }
      const stream = (
        c as unknown as {
          KeepAlive(metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientDuplexStream<object, Msg>;
        }
      ).KeepAlive(bearer(`Bearer ${TOKENS.orders}`), { deadline: Date.now() + 10_000 });
      const answer = new Promise<Msg>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
      });
      stream.write({
        leases: [
          { scope: 'shard/orders/9', fenceToken: fences[0] },
          { scope: 'shard/billing/9', fenceToken: fences[1] },
        ],
      });
      const results = (await answer)['results'] as Msg[];
      stream.end();
      expect(results.map((r) => [r['scope'], r['renewed'], r['errorCode']])).toEqual([
        ['shard/orders/9', true, ''],
        ['shard/billing/9', false, 'PERMISSION_DENIED'],
      ]);
    } finally {
      c.close();
    }
  });
});
