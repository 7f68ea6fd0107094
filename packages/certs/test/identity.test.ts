import { identityFromUris, identityUri, roleUri, scopePrefixUri } from '../src/identity';

describe('identity URIs', () => {
  it('names nodes and clients with SPIFFE-style URIs', () => {
    expect(identityUri('node', 'prod', 'n1')).toBe('spiffe://prod/node/n1');
    expect(identityUri('client', 'prod', 'orders')).toBe('spiffe://prod/client/orders');
    expect(roleUri('mesh.admin')).toBe('omnirelay:role:mesh.admin');
    expect(scopePrefixUri('shard/orders/')).toBe('omnirelay:scope:shard/orders/');
  });

  it('reads an identity with its roles and scope prefixes back, ignoring other URIs', () => {
    expect(
      identityFromUris([
        'https://example.com/x',
        'spiffe://prod/client/orders',
        'omnirelay:role:mesh.read',
        'omnirelay:scope:shard/orders/',
        'omnirelay:role:',
      ]),
    ).toEqual({
      kind: 'client',
      clusterId: 'prod',
      name: 'orders',
      roles: ['mesh.read'],
      scopePrefixes: ['shard/orders/'],
    });
  });

  it.each([
    ['no identity URI', ['omnirelay:role:mesh.read']],
    ['two identity URIs', ['spiffe://prod/node/n1', 'spiffe://prod/node/n2']],
    ['an unknown kind', ['spiffe://prod/service/n1']],
    ['a path with more segments', ['spiffe://prod/node/n1/extra']],
  ])('reads no identity from %s', (_name, uris) => {
    expect(identityFromUris(uris)).toBeUndefined();
  });
});
