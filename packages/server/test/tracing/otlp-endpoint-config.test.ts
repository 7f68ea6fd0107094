import { ConfigError, loadServerConfig } from '../../src/index';

describe('the otlpEndpoint setting', () => {
  it('is absent by default, so tracing is off', () => {
    expect(loadServerConfig(['--id', 'n1'], {}).otlpEndpoint).toBeUndefined();
  });

  it('is read from OMNIRELAY_OTLP_ENDPOINT and overridden by --otlp-endpoint', () => {
    const env = { OMNIRELAY_OTLP_ENDPOINT: 'http://collector:4318/v1/traces' };
    expect(loadServerConfig(['--id', 'n1'], env).otlpEndpoint).toBe('http://collector:4318/v1/traces');
    expect(
      loadServerConfig(['--id', 'n1', '--otlp-endpoint', 'https://otel.example/v1/traces'], env).otlpEndpoint,
    ).toBe('https://otel.example/v1/traces');
  });

  it.each(['collector:4318', 'ftp://collector/v1/traces', 'not a url'])(
    'refuses %j, naming the setting',
    (raw) => {
      expect(() => loadServerConfig(['--id', 'n1', '--otlp-endpoint', raw], {})).toThrow(ConfigError);
      expect(() => loadServerConfig(['--id', 'n1', '--otlp-endpoint', raw], {})).toThrow(/otlpEndpoint/);
    },
  );
});
