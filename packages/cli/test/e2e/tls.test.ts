import type { SingleNode } from '../../../server/test/support/single-node';
import { startSingleNode } from '../../../server/test/support/single-node';
import type { TestPki } from '../../../server/test/tls/tls-fixtures';
import { makeTestPki } from '../../../server/test/tls/tls-fixtures';
import { EXIT } from '../../src/exit-codes';
import { expectOneErrorLine, runCliInProcess } from '../support/run-cli';

jest.setTimeout(60_000);

describe('omnirelay --cacert --cert --key against a node with client TLS', () => {
  let pki: TestPki;
  let node: SingleNode;
  let endpoints = '';

  beforeAll(async () => {
    pki = await makeTestPki(['solo']);
    node = await startSingleNode(pki.clientTlsArgs('solo', true));
    endpoints = node.server.grpcAddress;
  });

  afterAll(async () => {
    await node.stop();
    pki.remove();
  });

  /** cli runs `omnirelay` against the node with a short timeout, so a refused handshake fails fast. */
  const cli = (...argv: string[]): ReturnType<typeof runCliInProcess> =>
    runCliInProcess(['--endpoints', endpoints, '--timeout', '1500', ...argv]);

  it('runs a command over mutual TLS with the flags', async () => {
    const r = await runCliInProcess([
      '--endpoints',
      endpoints,
      '--cacert',
      pki.ca,
      '--cert',
      pki.cert('app'),
      '--key',
      pki.key('app'),
      '-o',
      'json',
      'status',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('solo');
  });

  it('reads the files from OMNIRELAY_CACERT, OMNIRELAY_CERT and OMNIRELAY_KEY', async () => {
    const r = await runCliInProcess(['--endpoints', endpoints, 'status'], {
      env: { OMNIRELAY_CACERT: pki.ca, OMNIRELAY_CERT: pki.cert('app'), OMNIRELAY_KEY: pki.key('app') },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('fails with one line when the node is not trusted', async () => {
    const r = await cli(
      '--cacert',
      pki.foreignCa,
      '--cert',
      pki.cert('app'),
      '--key',
      pki.key('app'),
      'status',
    );
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(/the TLS handshake failed \(.*certificate.*\): check --cacert/);
  });

  it('fails with one line naming the missing client certificate', async () => {
    const r = await cli('--cacert', pki.ca, 'mesh', 'leaders', 'status');
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(/the TLS handshake failed \(certificate required\)/);
  });

  it('fails with one usage line naming an unreadable file', async () => {
    const r = await runCliInProcess(['--endpoints', endpoints, '--cacert', '/nonexistent/ca.crt', 'status']);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(/--cacert \/nonexistent\/ca\.crt: no such file/);
  });

  it('refuses --cert without --key', async () => {
    const r = await runCliInProcess(['--endpoints', endpoints, '--cert', pki.cert('app'), 'status']);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(/--cert is given without --key/);
  });
});
