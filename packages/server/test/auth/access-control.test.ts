import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import pino from 'pino';
import type { Credentials } from '../../src/auth/access-control';
import { AccessControl, forwardedCredentials } from '../../src/auth/access-control';
import { GRPC_REQUIREMENTS, grpcRequirement, httpRequirements } from '../../src/auth/permissions';
import { loadPublicApi } from '../../src/index';
import type { Principal } from '../../src/auth/principal';
import { hasRole, mayCampaign } from '../../src/auth/principal';
import type { TokensFile } from '../../src/auth/tokens-file';
import { isServerError } from '../../src/errors/error-table';
import type { ClientIdentity } from '../../src/tls/client-identity';
import type { TestPki } from '../tls/tls-fixtures';
import { makeTestPki } from '../tls/tls-fixtures';

const client = (name: string, roles: string[] = [], scopePrefixes: string[] = []): ClientIdentity => ({
  kind: 'client',
  name,
  clusterId: 'omnirelay',
  roles,
  scopePrefixes,
});
const NODE: ClientIdentity = {
  kind: 'node',
  name: 'n2',
  clusterId: 'omnirelay',
  roles: [],
  scopePrefixes: [],
};

/** refusal runs `fn` and answers the code and message it was refused with. */
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isServerError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('not refused');
}

describe('roles and scope prefixes', () => {
  const p = (roles: string[], scopePrefixes: string[] = []): Principal => ({
    name: 'x',
    roles,
    scopePrefixes,
  });

  it('nest mesh.admin over mesh.operate over mesh.read, and grant nothing for an unknown role', () => {
    expect(hasRole(p(['mesh.admin']), 'mesh.read')).toBe(true);
    expect(hasRole(p(['mesh.operate']), 'mesh.read')).toBe(true);
    expect(hasRole(p(['mesh.operate']), 'mesh.admin')).toBe(false);
    expect(hasRole(p(['mesh.read']), 'mesh.operate')).toBe(false);
    expect(hasRole(p(['mesh.root']), 'mesh.read')).toBe(false);
  });

  it('cover a scope by prefix, or every scope with *, and never the empty scope by an empty prefix', () => {
    expect(mayCampaign(p([], ['shard/orders/']), 'shard/orders/1')).toBe(true);
    expect(mayCampaign(p([], ['shard/orders/']), 'shard/billing/1')).toBe(false);
    expect(mayCampaign(p([], ['*']), 'anything')).toBe(true);
    expect(mayCampaign(p([], ['']), 'anything')).toBe(false);
    expect(mayCampaign(p(['mesh.admin']), 'global-control')).toBe(false);
  });

  it('list every method of the public gRPC services, so a new one cannot fall back to any authenticated caller', () => {
    const api = loadPublicApi();
    const methods = [...Object.keys(api.leadership.definition), ...Object.keys(api.cluster.definition)];
    expect(methods.filter((m) => !(m in GRPC_REQUIREMENTS))).toEqual([]);
  });

  it('map every gRPC method and HTTP route to what it needs', () => {
    expect(grpcRequirement('Acquire', { scope: 's/1' })).toEqual({ kind: 'campaign', scope: 's/1' });
    expect(grpcRequirement('Acquire', {})).toEqual({ kind: 'campaign', scope: '' });
    expect(grpcRequirement('KeepAlive', undefined)).toEqual({ kind: 'authenticated' });
    expect(grpcRequirement('RemoveMember', {})).toEqual({ kind: 'role', role: 'mesh.admin' });
    expect(grpcRequirement('Snapshot', {})).toEqual({ kind: 'role', role: 'mesh.admin' });
    expect(httpRequirements('GET /cluster/snapshot', undefined)).toEqual([
      { kind: 'role', role: 'mesh.admin' },
    ]);
    expect(grpcRequirement('StepDown', {})).toEqual({ kind: 'role', role: 'mesh.operate' });
    expect(grpcRequirement('Watch', {})).toEqual({ kind: 'role', role: 'mesh.read' });
    expect(grpcRequirement('WatchStream', undefined)).toEqual({ kind: 'role', role: 'mesh.read' });
    expect(grpcRequirement('Unknown', {})).toEqual({ kind: 'role', role: 'mesh.admin' });
    expect(httpRequirements('POST /not-listed', undefined)).toEqual([{ kind: 'role', role: 'mesh.admin' }]);
    expect(httpRequirements('GET /healthz', undefined)).toEqual([{ kind: 'open' }]);
    expect(httpRequirements('GET /debug/state', undefined)).toEqual([{ kind: 'role', role: 'mesh.admin' }]);
    expect(httpRequirements('POST /leadership/renew', { leases: [{ scope: 'a' }, { scope: 'b' }] })).toEqual([
      { kind: 'campaign', scope: 'a' },
      { kind: 'campaign', scope: 'b' },
    ]);
    expect(httpRequirements('POST /leadership/renew', {})).toEqual([{ kind: 'campaign', scope: '' }]);
  });
});

describe('AccessControl', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await makeTestPki(['n1']);
  });
  afterAll(() => pki.remove());

  const TOKEN = 'omr_0123456789abcdefghijklmnopqrstuvwxyzABCDE';
  const tokens = {
    lookup: (t: string) =>
      t === TOKEN
        ? { sha256: '', principal: { name: 'token/ops', roles: ['mesh.operate'], scopePrefixes: [] } }
        : undefined,
  } as unknown as TokensFile;

  function control(enabled = true): { access: AccessControl; denied: string[]; lines: string[] } {
    const denied: string[] = [];
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const access = new AccessControl({
      enabled,
      clusterId: 'omnirelay',
      tokens,
      caFile: pki.ca,
      logger,
      onDenied: (action, reason) => denied.push(`${action}:${reason}`),
    });
    return { access, denied, lines };
  }
  const read = { kind: 'role', role: 'mesh.read' } as const;

  it('refuses a caller with no credentials UNAUTHENTICATED, logged once and counted', () => {
    const { access, denied, lines } = control();
    expect(refusal(() => access.check({}, 'GetLeader', read, 'h2'))).toEqual({
      code: 'UNAUTHENTICATED',
      message: expect.stringMatching(/GetLeader needs credentials/) as string,
    });
    expect(denied).toEqual(['GetLeader:unauthenticated']);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      identity: 'anonymous',
      action: 'GetLeader',
      reason: 'unauthenticated',
    });
  });

  it('lets anyone through an open action and everything through when off, naming a certificate caller', () => {
    expect(control().access.check({}, 'GET /healthz', { kind: 'open' }, 'h2')).toBeUndefined();
    const off = control(false).access;
    expect(off.check({}, 'RemoveMember', { kind: 'role', role: 'mesh.admin' }, 'h2c')).toBeUndefined();
    expect(off.check({ certificate: client('app') }, 'RemoveMember', read, 'h2')?.name).toBe('client/app');
  });

  it.each([
    ['a header that is not Bearer', 'Basic dXNlcjpwYXNz', /is not "Bearer <token>"/],
    ['a token too short', 'Bearer short', /is not "Bearer <token>"/],
    [
      'an unknown or revoked token',
      `Bearer ${TOKEN}x`,
      /not in this node's tokens file \(unknown or revoked\)/,
    ],
  ])('refuses %s UNAUTHENTICATED and never logs the token', (_what, authorization, message) => {
    const { access, lines } = control();
    const r = refusal(() => access.check({ authorization }, 'Acquire', read, 'h2'));
    expect(r.code).toBe('UNAUTHENTICATED');
    expect(r.message).toMatch(message);
    expect(lines.join('')).not.toContain(TOKEN);
    expect(r.message).not.toContain(TOKEN);
  });

  it('names a token caller, which wins over the connection certificate', () => {
    const { access } = control();
    const credentials: Credentials = {
      authorization: `Bearer ${TOKEN}`,
      certificate: client('app', ['mesh.admin']),
    };
    expect(access.check(credentials, 'StepDown', { kind: 'role', role: 'mesh.operate' }, 'h2')?.name).toBe(
      'token/ops',
    );
    expect(
      refusal(() => access.check(credentials, 'RemoveMember', { kind: 'role', role: 'mesh.admin' }, 'h2')),
    ).toEqual({
      code: 'PERMISSION_DENIED',
      message: expect.stringMatching(
        /token\/ops may not call RemoveMember: it needs role mesh\.admin \(it has roles mesh\.operate; no scope prefix\)/,
      ) as string,
    });
  });

  it('refuses campaigning outside the granted scope prefixes, naming the scope', () => {
    const { access, denied } = control();
    const orders: Credentials = { certificate: client('orders', [], ['shard/orders/']) };
    expect(access.check(orders, 'Acquire', { kind: 'campaign', scope: 'shard/orders/1' }, 'h2')?.name).toBe(
      'client/orders',
    );
    const r = refusal(() =>
      access.check(orders, 'Acquire', { kind: 'campaign', scope: 'shard/billing/1' }, 'h2'),
    );
    expect(r.code).toBe('PERMISSION_DENIED');
    expect(r.message).toMatch(/client\/orders may not call Acquire for scope "shard\/billing\/1"/);
    expect(denied).toEqual(['Acquire:permission_denied']);
  });

  it('never takes a node certificate as the caller, nor a client certificate of another cluster', () => {
    const { access } = control();
    expect(refusal(() => access.check({ certificate: NODE }, 'GetLeader', read, 'h2')).message).toMatch(
      /node n2's certificate authenticates a member, not a client/,
    );
    const other = { ...client('app', ['mesh.admin']), clusterId: 'elsewhere' };
    expect(refusal(() => access.check({ certificate: other }, 'GetLeader', read, 'h2')).message).toMatch(
      /names cluster elsewhere, not omnirelay/,
    );
  });

  it('takes a forwarded caller certificate only from a member node, and only one the client CA issued', () => {
    const { access } = control();
    const app = readFileSync(pki.cert('app'));
    const der = new X509Certificate(app).raw.toString('base64');
    expect(
      access.check({ certificate: NODE, forwardedCertificate: der }, 'GetLeader', read, 'h2')?.name,
    ).toBe('client/app');
    expect(
      refusal(() =>
        access.check(
          { certificate: client('app', ['mesh.admin']), forwardedCertificate: der },
          'GetLeader',
          read,
          'h2',
        ),
      ).message,
    ).toMatch(/only a member node of cluster omnirelay may forward a caller's certificate/);
    expect(refusal(() => access.check({ forwardedCertificate: der }, 'GetLeader', read, 'h2')).code).toBe(
      'UNAUTHENTICATED',
    );
    const foreign = new X509Certificate(
      readFileSync(`${pki.foreignCa.replace(/ca\.crt$/, '')}app.crt`),
    ).raw.toString('base64');
    expect(
      refusal(() =>
        access.check({ certificate: NODE, forwardedCertificate: foreign }, 'GetLeader', read, 'h2'),
      ).message,
    ).toMatch(/was not issued by a CA of this node's client CA bundle/);
    expect(
      refusal(() =>
        access.check(
          { certificate: NODE, forwardedCertificate: 'bm90IGEgY2VydA==' },
          'GetLeader',
          read,
          'h2',
        ),
      ).message,
    ).toMatch(/is not a certificate/);
  });

  it("forwards a caller's token and certificate, and never a node's own certificate", () => {
    const der = Buffer.from([1, 2, 3]);
    expect(
      forwardedCredentials({ authorization: 'Bearer x', certificate: client('a'), certificateDer: der }),
    ).toEqual({
      authorization: 'Bearer x',
      'x-omnirelay-forwarded-cert': 'AQID',
    });
    expect(forwardedCredentials({ certificate: NODE, certificateDer: der })).toEqual({});
    expect(forwardedCredentials(undefined)).toEqual({});
  });
});
