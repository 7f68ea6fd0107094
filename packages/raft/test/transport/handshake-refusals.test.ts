import pino from 'pino';
import { HandshakeRefusals, reasonOf } from '../../src/transport/handshake-refusals';

describe('HandshakeRefusals', () => {
  it('counts every refusal and logs each address and reason once per window', () => {
    const lines: string[] = [];
    const counted: string[] = [];
    const refusals = new HandshakeRefusals(
      pino({ level: 'warn' }, { write: (l: string) => lines.push(l) }),
      (port) => counted.push(port),
    );
    refusals.refused('grpc', '10.0.0.1', 'alert unknown ca');
    refusals.refused('grpc', '10.0.0.1', 'alert unknown ca');
    refusals.refused('grpc', '10.0.0.1', 'alert certificate required');
    refusals.refused('http', '10.0.0.1', 'alert unknown ca');
    refusals.refused('grpc', '10.0.0.2', 'alert unknown ca');
    expect(counted).toEqual(['grpc', 'grpc', 'grpc', 'http', 'grpc']);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ port: 'grpc', remoteAddress: '10.0.0.1', reason: 'alert unknown ca' }),
      expect.objectContaining({
        port: 'grpc',
        remoteAddress: '10.0.0.1',
        reason: 'alert certificate required',
      }),
      expect.objectContaining({ port: 'http', remoteAddress: '10.0.0.1', reason: 'alert unknown ca' }),
      expect.objectContaining({ port: 'grpc', remoteAddress: '10.0.0.2', reason: 'alert unknown ca' }),
    ]);
  });

  it('names an OpenSSL alert, else the error code, else the last clause of the message', () => {
    expect(
      reasonOf(
        new Error('140:error:0A000418:SSL routines::tlsv1 alert unknown ca:ssl/record/rec_layer_s3.c'),
      ),
    ).toBe('alert unknown ca');
    expect(
      reasonOf(Object.assign(new Error('x'), { code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' })),
    ).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    expect(reasonOf(new Error('a: b: wrong version number'))).toBe('wrong version number');
  });
});
