import { isAbsolute } from 'node:path';
import { parseConfig } from '../bench/compare/config';
import { cpuProfArgs } from '../bench/compare/omnirelay-target';
import { parseScaleConfig } from '../bench/scale/config';

describe('the compare bench command line', () => {
  it('defaults to 3 full runs of both targets, without profiling', () => {
    const c = parseConfig([]);
    expect(c.runs).toBe(3);
    expect(c.quick).toBe(false);
    expect(c.only).toBeUndefined();
    expect(c.cpuProfDir).toBeUndefined();
    expect(c.security).toEqual(['off']);
  });

  it('takes --security as a list of settings, in the order the runs interleave them', () => {
    expect(parseConfig(['--security', 'off,tls']).security).toEqual(['off', 'tls']);
    expect(parseConfig(['--security=tls,off', '--quick']).security).toEqual(['tls', 'off']);
    expect(parseConfig(['--security', ' tls ']).security).toEqual(['tls']);
  });

  it('takes --cpu-prof DIR (and --cpu-prof=DIR) as an absolute folder', () => {
    const spaced = parseConfig(['--only', 'omnirelay', '--cpu-prof', 'prof-out', '--runs', '1']);
    expect(isAbsolute(spaced.cpuProfDir!)).toBe(true);
    expect(spaced.cpuProfDir!.endsWith('prof-out')).toBe(true);
    expect(spaced.runs).toBe(1);
    expect(parseConfig(['--cpu-prof=/tmp/p', '--quick']).cpuProfDir).toBe('/tmp/p');
  });

  it('adds each --node-arg=FLAG to every OmniRelay node, in order, and none by default', () => {
    expect(parseConfig([]).nodeArgs).toEqual([]);
    expect(parseConfig(['--quick']).nodeArgs).toEqual([]);
    const c = parseConfig(['--node-arg=--trace-gc', '--quick', '--node-arg=--max-semi-space-size=32']);
    expect(c.nodeArgs).toEqual(['--trace-gc', '--max-semi-space-size=32']);
    expect(c.quick).toBe(true);
  });

  it.each([
    [['--node-arg='], /--node-arg=FLAG takes a Node.js or V8 flag such as --trace-gc, got ""/],
    [['--node-arg=main.js'], /--node-arg=FLAG takes a Node.js or V8 flag such as --trace-gc, got "main.js"/],
    [['--cpu-prof'], /--cpu-prof needs a folder/],
    [['--cpu-prof', '--quick'], /--cpu-prof needs a folder/],
    [['--cpu-prof='], /--cpu-prof needs a folder/],
    [['--runs', '0'], /--runs must be an integer in \[1, 20\]/],
    [['--only', 'consul'], /--only must be omnirelay or etcd/],
    [['--fast'], /unknown argument "--fast"/],
    [['--security'], /--security needs a list of off, tls/],
    [['--security', '--quick'], /--security needs a list of off, tls/],
    [['--security='], /--security needs a list of off, tls/],
    [['--security', 'off,mtls'], /--security takes off and tls separated by commas, got "mtls"/],
    [['--security', 'off,'], /--security takes off and tls separated by commas, got ""/],
    [['--security', 'tls,tls'], /--security names "tls" twice/],
  ])('refuses %j with a one-line reason and the usage', (argv, reason) => {
    expect(() => parseConfig(argv)).toThrow(reason);
    expect(() => parseConfig(argv)).toThrow(/usage: npm run bench -- compare/);
  });
});

describe('the scale bench command line', () => {
  it('defaults to 100,000 leases without profiles or kept logs', () => {
    const c = parseScaleConfig([]);
    expect(c.leases).toBe(100_000);
    expect(c.cpuProfDir).toBeUndefined();
    expect(c.keepLogsDir).toBeUndefined();
    expect(c.heapSnapshotDir).toBeUndefined();
  });

  it('waits one TTL + 2 s between the transfer and the kill unless --fault-gap-ms says otherwise', () => {
    expect(parseScaleConfig([]).faultGapMs).toBe(12_000);
    expect(parseScaleConfig(['--ttl-ms', '5000']).faultGapMs).toBe(7000);
    expect(parseScaleConfig(['--fault-gap-ms', '3000']).faultGapMs).toBe(3000);
  });

  it('takes --keep-logs DIR and --cpu-prof DIR (and =DIR) as absolute folders', () => {
    const c = parseScaleConfig(['--keep-logs', 'logs-out', '--only', 'omnirelay', '--cpu-prof=/tmp/p']);
    expect(isAbsolute(c.keepLogsDir!)).toBe(true);
    expect(c.keepLogsDir!.endsWith('logs-out')).toBe(true);
    expect(c.cpuProfDir).toBe('/tmp/p');
    expect(c.cpuProfIntervalUs).toBeUndefined();
    expect(c.only).toBe('omnirelay');
  });

  it('takes --heap-snapshot DIR as an absolute folder', () => {
    const c = parseScaleConfig(['--heap-snapshot', 'heaps']);
    expect(isAbsolute(c.heapSnapshotDir!)).toBe(true);
    expect(c.heapSnapshotDir!.endsWith('heaps')).toBe(true);
  });

  it('takes --cpu-prof-interval-us N with --cpu-prof, and hands it to every profiled process as Node flags', () => {
    const c = parseScaleConfig(['--cpu-prof', '/tmp/p', '--cpu-prof-interval-us', '10000']);
    expect(c.cpuProfIntervalUs).toBe(10_000);
    expect(cpuProfArgs(c.cpuProfDir!, c.cpuProfIntervalUs)).toEqual([
      '--cpu-prof',
      '--cpu-prof-dir',
      '/tmp/p',
      '--cpu-prof-interval',
      '10000',
    ]);
    expect(cpuProfArgs('/tmp/p', undefined)).toEqual(['--cpu-prof', '--cpu-prof-dir', '/tmp/p']);
  });

  it('adds each --node-arg=FLAG to every OmniRelay node, and none by default', () => {
    expect(parseScaleConfig([]).nodeArgs).toEqual([]);
    expect(parseScaleConfig(['--node-arg=--trace-gc-nvp', '--smoke']).nodeArgs).toEqual(['--trace-gc-nvp']);
  });

  it.each([
    [['--node-arg=-'], /--node-arg=FLAG takes a Node.js or V8 flag such as --trace-gc, got "-"/],
    [['--node-arg', '--trace-gc'], /unknown option --node-arg/],
    [['--keep-logs'], /--keep-logs needs a value/],
    [['--keep-logs', '--smoke'], /--keep-logs needs a folder/],
    [['--keep-logs='], /--keep-logs needs a folder/],
    [['--heap-snapshot', '--smoke'], /--heap-snapshot needs a folder/],
    [['--cpu-prof', '--leases', '10'], /--cpu-prof needs a folder/],
    [['--leases', '0'], /--leases must be an integer from 1 to 1000000/],
    [['--fast'], /unknown option --fast/],
    [['--fault-gap-ms', '-1'], /--fault-gap-ms must be an integer from 0 to 600000/],
    [['--cpu-prof-interval-us', '10000'], /--cpu-prof-interval-us needs --cpu-prof DIR/],
    [
      ['--cpu-prof', '/tmp/p', '--cpu-prof-interval-us', '50'],
      /--cpu-prof-interval-us must be an integer from 100 to 1000000/,
    ],
  ])('refuses %j with a one-line reason and the usage', (argv, reason) => {
    expect(() => parseScaleConfig(argv)).toThrow(reason);
    expect(() => parseScaleConfig(argv)).toThrow(/usage: npm run bench -- scale/);
  });
});
