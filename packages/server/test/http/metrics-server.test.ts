import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenHash } from '../../src/auth/tokens-file';
import { freePort } from '../../src/index';
import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';

/**
 * The metrics port (--metrics-address) answers probes and scrapes without credentials while
 * access control guards the client ports, and serves nothing else.
 */
describe('the health and metrics port', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-metrics-port-'));
  let node: SingleNode;
  let metrics = '';

  beforeAll(async () => {
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(
      tokens,
      `tokens:\n  - name: ops\n    sha256: ${tokenHash('omr_0123456789abcdefghij')}\n    roles: [mesh.admin]\n`,
    );
    metrics = `127.0.0.1:${await freePort()}`;
    node = await startSingleNode(['--auth-tokens-file', tokens, '--metrics-address', metrics]);
  });
  afterAll(async () => {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /healthz, /readyz and /metrics in plaintext without credentials', async () => {
    expect(node.server.metricsAddress).toBe(metrics);
    expect(await (await fetch(`http://${metrics}/healthz`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`http://${metrics}/readyz`)).json()).toMatchObject({
      ready: true,
      leader: 'solo',
    });
    const scrape = await fetch(`http://${metrics}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(
      /^omnirelay_access_denied_total|omnirelay_tls_handshakes_refused_total/m,
    );
  });

  it('serves nothing else, and the client port still asks for credentials', async () => {
    const status = await fetch(`http://${metrics}/status`);
    expect(status.status).toBe(404);
    expect(await status.json()).toMatchObject({
      error: {
        code: 'NOT_FOUND',
        message: expect.stringMatching(/serves \/healthz, \/readyz and \/metrics/) as string,
      },
    });
    const post = await fetch(`http://${metrics}/cluster/remove`, { method: 'POST', body: '{"id":"solo"}' });
    expect(post.status).toBe(400);
    expect((await fetch(`http://${node.server.http.address}/metrics`)).status).toBe(401);
    expect(node.server.node.status().membership.voters).toEqual(['solo']);
  });
});
