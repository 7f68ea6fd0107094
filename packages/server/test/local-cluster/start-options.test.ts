import { parseStartOptions } from '../../src/local-cluster/start-options';

describe('parseStartOptions', () => {
  it('runs 3 plaintext nodes from port 7100 under data/ by default', () => {
    expect(parseStartOptions([], {})).toEqual({ size: 3, basePort: 7100, dataRoot: 'data', secure: false });
  });

  it('turns on secure mode with --secure, or OMNIRELAY_SECURE=1 or true', () => {
    expect(parseStartOptions(['--secure'], {}).secure).toBe(true);
    expect(parseStartOptions([], { OMNIRELAY_SECURE: '1' }).secure).toBe(true);
    expect(parseStartOptions([], { OMNIRELAY_SECURE: 'true' }).secure).toBe(true);
    expect(parseStartOptions([], { OMNIRELAY_SECURE: '0' }).secure).toBe(false);
    expect(parseStartOptions([], { OMNIRELAY_SECURE: '' }).secure).toBe(false);
  });

  it('reads the size, the base port (0: free ports) and the data folder from the environment', () => {
    expect(
      parseStartOptions([], { OMNIRELAY_NODES: '5', OMNIRELAY_BASE_PORT: '0', OMNIRELAY_DATA: '/tmp/x' }),
    ).toEqual({ size: 5, basePort: 0, dataRoot: '/tmp/x', secure: false });
  });

  it.each([
    [['--secure', '--tls'], {}, 'unknown argument "--tls"; the only one is --secure (npm start -- --secure)'],
    [['secure'], {}, 'unknown argument "secure"; the only one is --secure (npm start -- --secure)'],
    [[], { OMNIRELAY_SECURE: 'yes' }, 'OMNIRELAY_SECURE must be 1, true, 0 or false, got "yes"'],
    [[], { OMNIRELAY_NODES: '8' }, 'OMNIRELAY_NODES must be an integer in [1, 7], got "8"'],
    [[], { OMNIRELAY_NODES: '2.5' }, 'OMNIRELAY_NODES must be an integer in [1, 7], got "2.5"'],
    [
      [],
      { OMNIRELAY_BASE_PORT: '80' },
      'OMNIRELAY_BASE_PORT must be an integer in [1024, 65000], or 0, got "80"',
    ],
    [
      [],
      { OMNIRELAY_BASE_PORT: '-1' },
      'OMNIRELAY_BASE_PORT must be an integer in [1024, 65000], or 0, got "-1"',
    ],
  ])('refuses %j %j', (argv, env, message) => {
    let error: unknown;
    try {
      parseStartOptions(argv, env);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'StartUsageError', code: 'INVALID_ARGUMENT', message });
  });
});
