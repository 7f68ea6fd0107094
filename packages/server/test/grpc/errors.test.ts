import * as grpc from '@grpc/grpc-js';
import { ServerError } from '../../src/index';
import { toServiceError } from '../../src/grpc/errors';

describe('toServiceError', () => {
  it('maps an operating error to its table status, message and error-code metadata', () => {
    const error = toServiceError(
      new ServerError('STALE_FENCE', 'fence 4 is not the holder of s; the current one is 9', {
        scope: 's',
        currentFenceToken: '9',
      }),
    );
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error.details).toBe('fence 4 is not the holder of s; the current one is 9');
    expect(error.metadata.get('omnirelay-error-code')).toEqual(['STALE_FENCE']);
    expect(error.metadata.get('omnirelay-current-fence-token')).toEqual(['9']);
    expect(error.metadata.get('omnirelay-leader-hint')).toEqual([]);
  });

  it("carries the leader hint and the leader's gRPC address, not its HTTP one, in a NOT_LEADER refusal", () => {
    const error = toServiceError(
      new ServerError('NOT_LEADER', 'node n2 is not the leader; send it to n1', {
        leaderHint: 'n1',
        leaderAddress: '10.0.0.1:7201',
        leaderGrpcAddress: '10.0.0.1:7301',
      }),
    );
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error.metadata.get('omnirelay-leader-hint')).toEqual(['n1']);
    expect(error.metadata.get('omnirelay-leader-address')).toEqual(['10.0.0.1:7301']);
  });

  it('leaves the leader address out of a NOT_LEADER refusal when only the HTTP one is known', () => {
    const error = toServiceError(
      new ServerError('NOT_LEADER', 'node n2 is not the leader; send it to n1', {
        leaderHint: 'n1',
        leaderAddress: '10.0.0.1:7201',
      }),
    );
    expect(error.metadata.get('omnirelay-leader-hint')).toEqual(['n1']);
    expect(error.metadata.get('omnirelay-leader-address')).toEqual([]);
  });

  it('carries the wait a BACKPRESSURE refusal asks for as omnirelay-retry-after-ms', () => {
    const error = toServiceError(
      new ServerError('BACKPRESSURE', 'new leases are refused', { renewalLagMs: 1200, retryAfterMs: 1200 }),
    );
    expect(error.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error.metadata.get('omnirelay-retry-after-ms')).toEqual(['1200']);
  });

  it('turns an unknown failure into INTERNAL without its message or stack', () => {
    const error = toServiceError(new TypeError('secret internals at /home/x/y.ts:12'));
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(error.details).not.toMatch(/secret|y\.ts/);
    expect(error.metadata.get('omnirelay-error-code')).toEqual(['INTERNAL']);
    expect(error).not.toHaveProperty('stack');
  });
});

describe('ServerError', () => {
  it('carries no stack for an answer to a caller, only for INTERNAL, and leaves the stack limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const refusal = new ServerError('BACKPRESSURE', 'new leases are refused; retry with backoff', {
      renewalLagMs: 1200,
    });
    expect(refusal.stack).toBe('ServerError: new leases are refused; retry with backoff');
    expect(refusal).toMatchObject({ code: 'BACKPRESSURE', details: { renewalLagMs: 1200 } });
    expect(new ServerError('NOT_LEADER', 'n2 leads').stack).toBe('ServerError: n2 leads');
    const internal = new ServerError('INTERNAL', 'the store failed');
    expect(internal.stack?.split('\n').length).toBeGreaterThan(1);
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
