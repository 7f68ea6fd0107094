import { loadPublicApi } from '../../src/index';
import { uint64ToWire } from '../../src/grpc/convert';
import { keepAliveCodec } from '../../src/grpc/keep-alive-codec';

describe('keepAliveCodec', () => {
  const stock = loadPublicApi().leadership.definition['KeepAlive']!;
  const codec = keepAliveCodec(stock);

  it('decodes what a client encodes, fences as bigints to 2^64 - 1, an unset fence as 0', () => {
    const bytes = stock.requestSerialize({
      leases: [
        { scope: 'a/1', fenceToken: '7', releaseOnResetMs: 0 },
        { scope: 'a/2', fenceToken: '4294967301', releaseOnResetMs: 250 },
        { scope: 'a/3', fenceToken: '18446744073709551615' },
        { scope: 'a/4' },
        {},
      ],
    });
    expect(codec.requestDeserialize(bytes)).toEqual({
      leases: [
        { scope: 'a/1', fenceToken: 7n, releaseOnResetMs: 0 },
        { scope: 'a/2', fenceToken: 4294967301n, releaseOnResetMs: 250 },
        { scope: 'a/3', fenceToken: 18446744073709551615n, releaseOnResetMs: 0 },
        { scope: 'a/4', fenceToken: 0n, releaseOnResetMs: 0 },
        { scope: '', fenceToken: 0n, releaseOnResetMs: 0 },
      ],
    });
    expect(codec.requestDeserialize(stock.requestSerialize({}))).toEqual({ leases: [] });
  });

  it('throws on bytes that are not a KeepAliveRequest (the guard answers INVALID_ARGUMENT)', () => {
    expect(() => codec.requestDeserialize(Buffer.from([0x0a, 0xff]))).toThrow();
  });

  it('encodes answers to the same bytes as proto-loader, fences as halves or decimal strings', () => {
    const responses = [
      { results: [] },
      {
        results: [
          {
            scope: 'a/1',
            fenceToken: uint64ToWire(7n),
            renewed: true,
            deadlineMs: 1_796_000_000_000,
            errorCode: '',
          },
          {
            scope: 'a/2',
            fenceToken: uint64ToWire(18446744073709551615n),
            renewed: false,
            deadlineMs: 0,
            errorCode: 'STALE_FENCE',
            currentFenceToken: uint64ToWire(4294967301n),
          },
          {
            scope: 'Not A Scope',
            fenceToken: '5',
            renewed: false,
            deadlineMs: 0,
            errorCode: 'INVALID_SCOPE',
          },
        ],
      },
    ];
    for (const response of responses) {
      const bytes = codec.responseSerialize(response);
      expect(bytes.equals(stock.responseSerialize(response))).toBe(true);
      expect(stock.responseDeserialize(bytes)).toMatchObject({
        results: response.results.map((r) => ({
          ...r,
          fenceToken: typeof r.fenceToken === 'string' ? r.fenceToken : String(bigOf(r.fenceToken)),
          deadlineMs: String(r.deadlineMs),
          ...('currentFenceToken' in r ? { currentFenceToken: String(bigOf(r.currentFenceToken)) } : {}),
        })),
      });
    }
  });
});

/** bigOf reads a WireUint64 back as a bigint. */
function bigOf(w: { low: number; high: number }): bigint {
  return (BigInt(w.high >>> 0) << 32n) | BigInt(w.low >>> 0);
}
