import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSingleNode } from '../../../server/test/support/single-node';
import type { SingleNode } from '../../../server/test/support/single-node';
import { expectOneErrorLine, runCliInProcess, waitFor } from '../support/run-cli';
import { useTempDir } from '../../../certs/test/support/temp-dir';

const tempDir = useTempDir('token-e2e');

/**
 * The CLI's two halves against a real node that authenticates with a tokens file: a token that
 * `token create` minted into the file is accepted from --token-file, and refused once `token
 * revoke` removed it and the node re-read the file.
 */
describe('omnirelay token create and revoke against a node with --auth-tokens-file', () => {
  let node: SingleNode | undefined;

  afterEach(async () => {
    await node?.stop();
    node = undefined;
  });

  it('accepts the minted token, refuses no token, and refuses it after revoke', async () => {
    const tokensFile = join(tempDir(), 'tokens.yaml');
    const created = await runCliInProcess([
      'token',
      'create',
      '--name',
      'reader',
      '--role',
      'mesh.read',
      '--tokens-file',
      tokensFile,
    ]);
    expect(created.code).toBe(0);
    const tokenFile = join(tempDir(), 'reader.token');
    writeFileSync(tokenFile, created.stdout, { mode: 0o600 });

    node = await startSingleNode(['--auth-tokens-file', tokensFile]);
    const endpoints = ['--endpoints', node.server.grpcAddress, '--timeout', '3000'];

    const allowed = await runCliInProcess([
      ...endpoints,
      '--token-file',
      tokenFile,
      'mesh',
      'leaders',
      'status',
    ]);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);

    const anonymous = await runCliInProcess([...endpoints, 'mesh', 'leaders', 'status']);
    expect(anonymous.code).toBe(7);
    expectOneErrorLine(anonymous.stderr);
    expect(anonymous.stderr).toContain('UNAUTHENTICATED');

    // status asks every endpoint and reports the ones that do not answer; a refusal is not that.
    const anonymousStatus = await runCliInProcess([...endpoints, 'status']);
    expect(anonymousStatus.code).toBe(7);
    expectOneErrorLine(anonymousStatus.stderr);
    expect(anonymousStatus.stderr).toContain('UNAUTHENTICATED');
    expect(anonymousStatus.stderr).not.toContain('no endpoint answered');

    const revoked = await runCliInProcess([
      'token',
      'revoke',
      '--name',
      'reader',
      '--tokens-file',
      tokensFile,
    ]);
    expect(revoked.code).toBe(0);
    let last = allowed;
    await waitFor(
      'the node to refuse the revoked token',
      async () => {
        last = await runCliInProcess([...endpoints, '--token-file', tokenFile, 'mesh', 'leaders', 'status']);
        return last.code === 7;
      },
      15_000,
      () => last.stderr,
    );
    expect(last.stderr).toContain('UNAUTHENTICATED');
    expect(last.stderr).not.toContain(created.stdout.trim());
  }, 60_000);
});
