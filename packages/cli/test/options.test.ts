import { isCliErrorWithExit } from './support/cli-errors';
import { TEST_TOKEN as TOKEN, useTokenFile } from './support/token-file';
import {
  DEFAULT_ENDPOINTS,
  parseAddress,
  parseEndpoints,
  parseFence,
  parseOutput,
  parsePositiveMs,
  parseScope,
  parseTimeoutMs,
  resolveEndpoints,
  resolveToken,
} from '../src/options';

describe('resolveEndpoints', () => {
  it('prefers --endpoints, then OMNIRELAY_ENDPOINTS, then the npm start defaults', () => {
    const env = { OMNIRELAY_ENDPOINTS: 'b:2' };
    expect(resolveEndpoints('a:1', env)).toEqual(['a:1']);
    expect(resolveEndpoints(undefined, env)).toEqual(['b:2']);
    expect(resolveEndpoints(undefined, { OMNIRELAY_ENDPOINTS: ' ' })).toEqual([...DEFAULT_ENDPOINTS]);
    expect(resolveEndpoints(undefined, {})).toEqual(['127.0.0.1:7301', '127.0.0.1:7302', '127.0.0.1:7303']);
  });

  it('names the environment variable when its value is bad', () => {
    expect(() => resolveEndpoints(undefined, { OMNIRELAY_ENDPOINTS: 'x' })).toThrow(/OMNIRELAY_ENDPOINTS/);
  });
});

describe('parseEndpoints', () => {
  it('reads a comma-separated list, trimmed, without duplicates, in order', () => {
    expect(parseEndpoints(' h2:2, h1:1,h2:2,', '--endpoints')).toEqual(['h2:2', 'h1:1']);
  });

  it.each(['', ',', 'host', 'host:', ':80', 'host:0', 'host:65536', 'host:80:1', 'a b:1', 'http://h:1'])(
    'refuses %j with exit 2',
    (text) => {
      expect(isCliErrorWithExit(() => parseEndpoints(text, '--endpoints'), 2)).toBe(true);
    },
  );

  it('bounds the number of endpoints', () => {
    const many = Array.from({ length: 65 }, (_, i) => `h:${i + 1}`).join(',');
    expect(() => parseEndpoints(many, '--endpoints')).toThrow(/at most 64/);
  });
});

describe('parseAddress', () => {
  it('accepts host:port and refuses anything else with exit 2, naming the argument', () => {
    expect(parseAddress('127.0.0.1:7104', '<peer-address>')).toBe('127.0.0.1:7104');
    for (const text of ['', 'nowhere', 'h:0', 'h:65536', 'h :1', 'http://h:1', 'h:1:2']) {
      expect(isCliErrorWithExit(() => parseAddress(text, '<peer-address>'), 2)).toBe(true);
    }
    expect(() => parseAddress('nowhere', '--grpc-address')).toThrow(
      /--grpc-address "nowhere" is not host:port/,
    );
  });
});

describe('parseFence', () => {
  it('reads decimal uint64 tokens', () => {
    expect(parseFence('1', '--fence')).toBe(1n);
    expect(parseFence('18446744073709551615', '--fence')).toBe(2n ** 64n - 1n);
  });

  it.each(['0', '00', 'abc', '-1', '1.5', '1e3', '', ' 1', '0x10', '18446744073709551616', '+1'])(
    'refuses %j with exit 2',
    (text) => {
      expect(isCliErrorWithExit(() => parseFence(text, '--fence'), 2)).toBe(true);
    },
  );
});

describe('the other parsers', () => {
  it('reads --timeout in milliseconds, from 1 to 600000', () => {
    expect(parseTimeoutMs('2500')).toBe(2500);
    for (const bad of ['0', '-5', '1.5', 'soon', '600001']) {
      expect(isCliErrorWithExit(() => parseTimeoutMs(bad), 2)).toBe(true);
    }
  });

  it('reads -o as table or json', () => {
    expect(parseOutput('json')).toBe('json');
    expect(isCliErrorWithExit(() => parseOutput('yaml'), 2)).toBe(true);
  });

  it('refuses an empty or spaced scope', () => {
    expect(parseScope('shard/a/1', '--scope')).toBe('shard/a/1');
    expect(isCliErrorWithExit(() => parseScope('', '--scope'), 2)).toBe(true);
    expect(isCliErrorWithExit(() => parseScope('a b', '--scope'), 2)).toBe(true);
  });

  it('reads a positive number of milliseconds', () => {
    expect(parsePositiveMs('10000', '--successor-ttl-ms')).toBe(10_000);
    expect(isCliErrorWithExit(() => parsePositiveMs('0', '--successor-ttl-ms'), 2)).toBe(true);
  });
});

const tokenFile = useTokenFile('options');

describe('resolveToken', () => {
  it('reads --token, else the first line of --token-file, else OMNIRELAY_TOKEN, else OMNIRELAY_TOKEN_FILE', () => {
    const file = tokenFile(`  ${TOKEN}-file \r\nsecond line is ignored\n`);
    expect(resolveToken({ token: TOKEN }, {})).toBe(TOKEN);
    expect(resolveToken({ tokenFile: file }, {})).toBe(`${TOKEN}-file`);
    expect(resolveToken({}, { OMNIRELAY_TOKEN: `${TOKEN}-env` })).toBe(`${TOKEN}-env`);
    expect(resolveToken({}, { OMNIRELAY_TOKEN_FILE: file })).toBe(`${TOKEN}-file`);
    expect(resolveToken({}, { OMNIRELAY_TOKEN: '', OMNIRELAY_TOKEN_FILE: '' })).toBeUndefined();
    expect(resolveToken({}, {})).toBeUndefined();
  });

  it('lets a flag win over the environment', () => {
    const file = tokenFile(`${TOKEN}-file\n`);
    expect(resolveToken({ tokenFile: file }, { OMNIRELAY_TOKEN: `${TOKEN}-env` })).toBe(`${TOKEN}-file`);
    expect(resolveToken({ token: TOKEN }, { OMNIRELAY_TOKEN_FILE: file })).toBe(TOKEN);
  });
});
