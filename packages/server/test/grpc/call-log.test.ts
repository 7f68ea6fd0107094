import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { GRPC_TRANSPORT, callLogger, recordCall } from '../../src/grpc/call-log';
import { toServiceError } from '../../src/grpc/errors';
import { ServerError } from '../../src/index';

describe('recordCall', () => {
  function logged(level: string, run: (logger: pino.Logger) => void): Array<Record<string, unknown>> {
    const lines: string[] = [];
    run(pino({ level }, { write: (line: string) => lines.push(line) }));
    return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('writes one debug line per call with the method, the h2c transport and the status', () => {
    const lines = logged('debug', (root) => {
      const logger = callLogger(root, GRPC_TRANSPORT);
      recordCall(logger, 'Acquire', 'ok');
      recordCall(logger, 'Resign', toServiceError(new ServerError('STALE_FENCE', 'stale')));
      recordCall(logger, 'Campaign', 'cancelled');
    });
    expect(GRPC_TRANSPORT).toBe('h2c');
    expect(lines).toEqual([
      expect.objectContaining({ method: 'Acquire', transport: 'h2c', code: 'OK' }),
      expect.objectContaining({
        method: 'Resign',
        transport: 'h2c',
        code: grpc.status[grpc.status.FAILED_PRECONDITION],
        errorCode: 'STALE_FENCE',
      }),
      expect.objectContaining({ method: 'Campaign', transport: 'h2c', code: 'CANCELLED' }),
    ]);
  });

  it('writes nothing at info level except an INTERNAL failure, logged as an error with its cause', () => {
    const cause = new Error('boom');
    const lines = logged('info', (logger) => {
      recordCall(logger, 'Acquire', 'ok');
      recordCall(logger, 'GetLeader', toServiceError(cause), cause);
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, method: 'GetLeader', err: { message: 'boom' } });
  });

  it("adds a call's own details to its debug line, and builds none below debug level", () => {
    let built = 0;
    const details = (): Record<string, unknown> => {
      built++;
      return { requests: 3, peer: '127.0.0.1:5000' };
    };
    const debug = logged('debug', (logger) =>
      recordCall(logger, 'KeepAlive', 'cancelled', undefined, details),
    );
    expect(debug).toEqual([
      expect.objectContaining({
        method: 'KeepAlive',
        code: 'CANCELLED',
        requests: 3,
        peer: '127.0.0.1:5000',
      }),
    ]);
    expect(logged('info', (logger) => recordCall(logger, 'KeepAlive', 'ok', undefined, details))).toEqual([]);
    expect(built).toBe(1);
  });

  it('records the h2 transport of a TLS listener', () => {
    const lines = logged('debug', (root) => recordCall(callLogger(root, 'h2'), 'Acquire', 'ok'));
    expect(lines).toEqual([expect.objectContaining({ method: 'Acquire', transport: 'h2', code: 'OK' })]);
  });
});
