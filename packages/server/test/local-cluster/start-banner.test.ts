import { shellWord, startBanner } from '../../src/local-cluster/start-banner';

const nodes = [
  {
    id: 'n1',
    peerAddress: '127.0.0.1:7101',
    clientAddress: '127.0.0.1:7201',
    grpcAddress: '127.0.0.1:7301',
    logFile: '/d/logs/n1.log',
  },
  {
    id: 'n2',
    peerAddress: '127.0.0.1:7102',
    clientAddress: '127.0.0.1:7202',
    grpcAddress: '127.0.0.1:7302',
    logFile: '/d/logs/n2.log',
  },
];

describe('startBanner', () => {
  it('prints plaintext lines, and says in one line that the cluster is plaintext and how to secure it', () => {
    const text = startBanner('/d', nodes, undefined);
    expect(text.split('\n')[1]).toMatch(
      /^plaintext on 127\.0\.0\.1, for development only; .*npm start -- --secure/,
    );
    expect(text).toContain('  status:  curl http://127.0.0.1:7201/status\n');
    expect(text).toContain(
      '  cli:     npx omnirelay --endpoints 127.0.0.1:7301,127.0.0.1:7302 mesh leaders status  # --watch follows changes\n',
    );
  });

  it('prints HTTPS and CLI lines that present the admin certificate, quoting paths for the shell', () => {
    const text = startBanner('/d', nodes, {
      caFile: '/d/pki/ca.crt',
      certFile: "/my data/pki/admin's.crt",
      keyFile: '/d/pki/admin.key',
    });
    const tls = `--cacert /d/pki/ca.crt --cert '/my data/pki/admin'\\''s.crt' --key /d/pki/admin.key`;
    expect(text.split('\n')[1]).toMatch(
      /^TLS on every port: mutual TLS between peers; .*signed by \/d\/pki\/ca\.crt/,
    );
    expect(text).toContain(`  status:  curl ${tls} https://127.0.0.1:7201/status\n`);
    expect(text).toContain(`  acquire: curl ${tls} -X POST https://127.0.0.1:7201/leadership/acquire -d '{`);
    expect(text).toContain(
      `  cli:     npx omnirelay --endpoints 127.0.0.1:7301,127.0.0.1:7302 ${tls} mesh leaders status`,
    );
  });

  it('refuses a cluster of no nodes', () => {
    expect(() => startBanner('/d', [], undefined)).toThrow('a cluster has at least one node');
  });
});

describe('shellWord', () => {
  it.each([
    ['/plain/path-1.crt', '/plain/path-1.crt'],
    ['with space', "'with space'"],
    ["it's", "'it'\\''s'"],
    ['$HOME', "'$HOME'"],
    ['', "''"],
  ])('writes %j as %s', (text, word) => {
    expect(shellWord(text)).toBe(word);
  });
});
