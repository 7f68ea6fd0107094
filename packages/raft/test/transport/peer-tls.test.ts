import type { PeerCertificate } from 'node:tls';
import tlsModule from 'node:tls';
import { certificateIdentity, nodeUri, peerTls } from '../../src/transport/peer-tls';
import { nodeTlsFiles, probeOnce, probeUntilServed, useTlsPeer } from './transport-test-helpers';

const cert = (subjectaltname: string | undefined): PeerCertificate =>
  ({ subject: { CN: 'x' }, subjectaltname }) as unknown as PeerCertificate;

describe('certificateIdentity (who a peer certificate says it is)', () => {
  it('names the node of a member certificate of this cluster', () => {
    const san = `URI:${nodeUri('prod', 'n2')}, DNS:localhost, IP Address:127.0.0.1`;
    expect(certificateIdentity(cert(san), 'prod')).toEqual({ node: 'n2' });
  });

  it('refuses no certificate, a client certificate, another cluster and a certificate without a URI', () => {
    expect(certificateIdentity(undefined, 'prod')).toEqual({ refused: 'no client certificate' });
    expect(certificateIdentity({} as PeerCertificate, 'prod')).toEqual({ refused: 'no client certificate' });
    expect(certificateIdentity(cert('URI:spiffe://prod/client/ops'), 'prod')).toEqual({
      refused: 'a certificate for spiffe://prod/client/ops, not a node of cluster prod',
    });
    expect(certificateIdentity(cert(`URI:${nodeUri('staging', 'n2')}`), 'prod')).toMatchObject({
      refused: expect.stringContaining('not a node of cluster prod') as unknown,
    });
    expect(certificateIdentity(cert('DNS:localhost'), 'prod')).toEqual({
      refused: 'a certificate without a spiffe URI (not a node certificate)',
    });
  });

  it('refuses a certificate naming several nodes or a malformed id', () => {
    const two = `URI:${nodeUri('prod', 'n1')}, URI:${nodeUri('prod', 'n2')}`;
    expect(certificateIdentity(cert(two), 'prod')).toEqual({
      refused: 'a certificate naming several nodes (n1, n2)',
    });
    expect(certificateIdentity(cert('URI:spiffe://prod/node/../n1'), 'prod')).toMatchObject({
      refused: expect.any(String) as unknown,
    });
  });
});

describe('peerTls channels (how a node dials its peers)', () => {
  jest.setTimeout(60_000);
  const tlsPeer = useTlsPeer();

  /** CONNECTIONS is how many separate connections the context-count test makes. */
  const CONNECTIONS = 4;

  it('builds one TLS context for all its connections, not two per connection', async () => {
    const address = tlsPeer.peer().address;
    const tls = peerTls(nodeTlsFiles(tlsPeer.dir(), 'a'), 'c1');
    expect(await probeUntilServed(address, () => tls.channel('b'))).toBeNull();
    const built = jest.spyOn(tlsModule, 'createSecureContext');
    try {
      const channel = tls.channel('b');
      for (let i = 0; i < CONNECTIONS; i++) expect(await probeOnce(address, channel)).toBeNull();
      // One context from the files' reading, shared by every connection (grpc-js's own credentials built two per connection).
      expect(built.mock.calls).toHaveLength(1);
    } finally {
      built.mockRestore();
    }
  });
});
