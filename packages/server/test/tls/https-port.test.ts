import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';
import type { TestPki } from './tls-fixtures';
import { makeTestPki } from './tls-fixtures';

jest.setTimeout(60_000);

const run = promisify(execFile);

/** CURL_MAX_TIME_S bounds every curl run (SSE included, which curl cuts off by design). */
const CURL_MAX_TIME_S = '5';

/** Curled is what one curl run saw: status, negotiated HTTP version and body. */
interface Curled {
  readonly status: number;
  readonly httpVersion: string;
  readonly body: string;
  readonly exitCode: number;
  readonly stderr: string;
}

/** curl runs the machine's curl against a client port and reports what it saw (never throws). */
async function curl(args: readonly string[]): Promise<Curled> {
  const marker = '\n@@curl@@';
  try {
    const { stdout, stderr } = await run('curl', [
      '-sS',
      '--max-time',
      CURL_MAX_TIME_S,
      '-w',
      `${marker}%{http_code} %{http_version}`,
      ...args,
    ]);
    return parse(stdout, stderr, 0);
  } catch (e) {
    const failure = e as { stdout?: string; stderr?: string; code?: number };
    return parse(failure.stdout ?? '', failure.stderr ?? '', failure.code ?? -1);
  }
  function parse(stdout: string, stderr: string, exitCode: number): Curled {
    const i = stdout.lastIndexOf(marker);
    const [status = '0', httpVersion = ''] = (i < 0 ? '' : stdout.slice(i + marker.length)).split(' ');
    return {
      status: Number(status),
      httpVersion,
      body: i < 0 ? stdout : stdout.slice(0, i),
      exitCode,
      stderr,
    };
  }
}

describe('the HTTP client port with TLS', () => {
  let pki: TestPki;
  let node: SingleNode;
  const lines: Array<Record<string, unknown>> = [];
  let base = '';

  beforeAll(async () => {
    pki = await makeTestPki(['solo']);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n'))
          if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    node = await startSingleNode(pki.clientTlsArgs('solo', true), pino({ level: 'debug' }, sink));
    base = `https://${node.server.http.address}`;
  });

  afterAll(async () => {
    await node.stop();
    pki.remove();
  });

  /** mtls are curl's flags to trust the cluster CA and present the client `app`. */
  const mtls = (): string[] => ['--cacert', pki.ca, '--cert', pki.cert('app'), '--key', pki.key('app')];

  it.each([
    ['--http2', '2', 'h2'],
    ['--http1.1', '1.1', 'http/1.1'],
  ])(
    'serves every route over %s on the one TLS port and records the negotiated protocol',
    async (flag, httpVersion, transport) => {
      const acquired = await curl([
        flag,
        ...mtls(),
        '-H',
        'content-type: application/json',
        '-d',
        JSON.stringify({ scope: `tls/${transport}`, candidateId: 'c1', leaseTtlMs: 60_000 }),
        `${base}/leadership/acquire`,
      ]);
      expect(acquired).toMatchObject({ status: 200, httpVersion });
      const lease = (JSON.parse(acquired.body) as { lease: { fenceToken: string } }).lease;
      const gets = [
        '/status',
        '/healthz',
        '/readyz',
        `/control/leaders?scope=tls/${transport}`,
        '/cluster/members',
        '/debug/state',
        '/metrics',
      ];
      for (const path of gets) {
        expect({ path, ...(await curl([flag, ...mtls(), `${base}${path}`])) }).toMatchObject({
          path,
          status: 200,
          httpVersion,
        });
      }
      const validated = await curl([
        flag,
        ...mtls(),
        '-H',
        'content-type: application/json',
        '-d',
        JSON.stringify({ scope: `tls/${transport}`, fenceToken: lease.fenceToken }),
        `${base}/fence-token/validate`,
      ]);
      expect(JSON.parse(validated.body)).toMatchObject({ valid: true });
      // SSE: the stream stays open, so curl stops at --max-time, having printed the grant.
      const events = await curl([flag, ...mtls(), '-N', `${base}/control/events/leadership?fromRevision=1`]);
      expect(events.httpVersion).toBe(httpVersion);
      expect(events.body).toContain('event: leadership');
      expect(events.body).toContain(`"scope":"tls/${transport}"`);
      const missing = await curl([flag, ...mtls(), `${base}/nope`]);
      expect(missing).toMatchObject({ status: 404, httpVersion });
      expect(JSON.parse(missing.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
      const logged = lines.filter((l) => l['msg'] === 'http request' && l['path'] === '/leadership/acquire');
      expect(logged).toEqual(expect.arrayContaining([expect.objectContaining({ transport })]));
      const granted = lines.filter(
        (l) =>
          l['msg'] === 'holder changed' && l['scope'] === `tls/${transport}` && l['reason'] === 'granted',
      );
      expect(granted).toEqual([expect.objectContaining({ transport })]);
    },
  );

  it('refuses a client that presents no certificate when the port has a client CA', async () => {
    const refused = await curl(['--http2', '--cacert', pki.ca, `${base}/status`]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.status).toBe(0);
  });

  it('refuses a client certificate from another CA', async () => {
    const foreignDir = pki.foreignCa.replace(/ca\.crt$/, '');
    const refused = await curl([
      '--http1.1',
      '--cacert',
      pki.ca,
      '--cert',
      `${foreignDir}app.crt`,
      '--key',
      `${foreignDir}app.key`,
      `${base}/status`,
    ]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.status).toBe(0);
  });

  it('is refused by a client that does not trust the cluster CA', async () => {
    const refused = await curl(['--http2', '--cacert', pki.foreignCa, `${base}/status`]);
    expect(refused.exitCode).toBe(60);
    expect(refused.stderr).toMatch(/certificate/i);
  });

  it('answers a plaintext request on the TLS port with nothing a client could mistake for an answer', async () => {
    const plain = await curl(['--http1.1', `http://${node.server.http.address}/status`]);
    expect(plain.status).not.toBe(200);
  });

  it('refuses TLS 1.1', async () => {
    const old = await curl(['--http1.1', '--tls-max', '1.1', ...mtls(), `${base}/status`]);
    expect(old.exitCode).not.toBe(0);
    expect(old.status).toBe(0);
  });
});
