import { isAbsolute } from 'node:path';
import { parseConfig } from '../bench/compare/config';

describe('the compare bench command line', () => {
  it('defaults to 3 full runs of both targets, without profiling', () => {
    const c = parseConfig([]);
    expect(c.runs).toBe(3);
    expect(c.quick).toBe(false);
    expect(c.only).toBeUndefined();
    expect(c.cpuProfDir).toBeUndefined();
  });

  it('takes --cpu-prof DIR (and --cpu-prof=DIR) as an absolute folder', () => {
    const spaced = parseConfig(['--only', 'omnirelay', '--cpu-prof', 'prof-out', '--runs', '1']);
    expect(isAbsolute(spaced.cpuProfDir!)).toBe(true);
    expect(spaced.cpuProfDir!.endsWith('prof-out')).toBe(true);
    expect(spaced.runs).toBe(1);
    expect(parseConfig(['--cpu-prof=/tmp/p', '--quick']).cpuProfDir).toBe('/tmp/p');
  });

  it.each([
    [['--cpu-prof'], /--cpu-prof needs a folder/],
    [['--cpu-prof', '--quick'], /--cpu-prof needs a folder/],
    [['--cpu-prof='], /--cpu-prof needs a folder/],
    [['--runs', '0'], /--runs must be an integer in \[1, 20\]/],
    [['--only', 'consul'], /--only must be omnirelay or etcd/],
    [['--fast'], /unknown argument "--fast"/],
  ])('refuses %j with a one-line reason and the usage', (argv, reason) => {
    expect(() => parseConfig(argv)).toThrow(reason);
    expect(() => parseConfig(argv)).toThrow(/usage: npm run bench -- compare/);
  });
});
