import { isServerError } from '../../src/errors/error-table';
import type { StreamLimitName } from '../../src/limits/stream-limiter';
import { StreamLimiter } from '../../src/limits/stream-limiter';

const LIMITS = {
  grpcStreamsPerConnectionMax: 2,
  grpcStreamsMax: 3,
  watchersPerConnectionMax: 1,
  watchersMax: 2,
};

/** refusal returns the error `admit` throws, or fails the test when it admits. */
function refusal(admit: () => unknown): unknown {
  try {
    admit();
  } catch (e) {
    return e;
  }
  throw new Error('admitted; a refusal was expected');
}

describe('StreamLimiter', () => {
  it('refuses a stream past grpcStreamsPerConnectionMax on that connection only', () => {
    const limiter = new StreamLimiter(LIMITS);
    limiter.admit({ stream: true, watcher: false, connection: 'c1' });
    limiter.admit({ stream: true, watcher: false, connection: 'c1' });
    const e = refusal(() => limiter.admit({ stream: true, watcher: false, connection: 'c1' }));
    expect(isServerError(e, 'LIMIT_REACHED')).toBe(true);
    expect(e).toMatchObject({
      message: expect.stringContaining('limit grpcStreamsPerConnectionMax (2) reached') as unknown,
      details: { limitName: 'grpcStreamsPerConnectionMax', limitValue: 2 },
    });
    // Another connection is not affected.
    limiter.admit({ stream: true, watcher: false, connection: 'c2' });
    expect(limiter.streamCount).toBe(3);
  });

  it('refuses a stream past grpcStreamsMax on any connection, forwarded calls included', () => {
    const limiter = new StreamLimiter(LIMITS);
    for (const connection of ['c1', 'c2', undefined])
      limiter.admit({ stream: true, watcher: false, connection });
    for (const connection of ['c3', undefined]) {
      expect(refusal(() => limiter.admit({ stream: true, watcher: false, connection }))).toMatchObject({
        details: { limitName: 'grpcStreamsMax', limitValue: 3 },
      });
    }
  });

  it('counts a Watch against both bounds and an SSE watcher against watchersMax only', () => {
    const limiter = new StreamLimiter(LIMITS);
    limiter.admit({ stream: true, watcher: true, connection: 'c1' });
    expect(refusal(() => limiter.admit({ stream: true, watcher: true, connection: 'c1' }))).toMatchObject({
      details: { limitName: 'watchersPerConnectionMax', limitValue: 1 },
    });
    // A refused call counted nothing.
    expect([limiter.streamCount, limiter.watcherCount]).toEqual([1, 1]);
    limiter.admit({ stream: false, watcher: true, connection: undefined });
    expect(
      refusal(() => limiter.admit({ stream: false, watcher: true, connection: undefined })),
    ).toMatchObject({
      details: { limitName: 'watchersMax', limitValue: 2 },
    });
    // Streams that do not watch are still admitted.
    limiter.admit({ stream: true, watcher: false, connection: 'c1' });
    expect([limiter.streamCount, limiter.watcherCount]).toEqual([2, 2]);
  });

  it('frees a place once per release, and forgets a connection with nothing open', () => {
    const limiter = new StreamLimiter(LIMITS);
    const release = limiter.admit({ stream: true, watcher: true, connection: 'c1' });
    const other = limiter.admit({ stream: true, watcher: false, connection: 'c1' });
    expect(limiter.connectionCount).toBe(1);
    release();
    release();
    expect([limiter.streamCount, limiter.watcherCount]).toEqual([1, 0]);
    limiter.admit({ stream: true, watcher: true, connection: 'c1' })();
    other();
    expect([limiter.streamCount, limiter.watcherCount, limiter.connectionCount]).toEqual([0, 0, 0]);
  });

  it('tells each refusal to its listener by the limit that refused it', () => {
    const refused: StreamLimitName[] = [];
    const limiter = new StreamLimiter({ ...LIMITS, grpcStreamsMax: 1 }, (limit) => refused.push(limit));
    limiter.admit({ stream: true, watcher: false, connection: 'c1' });
    refusal(() => limiter.admit({ stream: true, watcher: false, connection: 'c2' }));
    expect(refused).toEqual(['grpcStreamsMax']);
  });

  it('refuses a bound that is not a positive integer, naming it', () => {
    expect(() => new StreamLimiter({ ...LIMITS, watchersMax: 0 })).toThrow(
      /watchersMax must be a positive integer, got 0/,
    );
    expect(() => new StreamLimiter({ ...LIMITS, grpcStreamsMax: 1.5 })).toThrow(/grpcStreamsMax/);
  });
});
