import type * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '../../src/index';
import { renewItemToWire, uint64ToWire } from '../../src/grpc/convert';

/** keepAlive is the KeepAlive method's definition: its response (de)serializers, as grpc-js uses them. */
function keepAlive(): grpc.MethodDefinition<unknown, unknown> {
  return loadPublicApi().leadership.definition['KeepAlive'] as grpc.MethodDefinition<unknown, unknown>;
}

/** roundTrip encodes `results` as a KeepAliveResponse and decodes them as a client does. */
function roundTrip(results: unknown[]): Array<Record<string, unknown>> {
  const method = keepAlive();
  const decoded = method.responseDeserialize(method.responseSerialize({ results })) as {
    results: Array<Record<string, unknown>>;
  };
  return decoded.results;
}

const FENCES = [1n, 42n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 48n + 5n, 2n ** 63n, 2n ** 64n - 1n];

describe('the KeepAlive answer conversion', () => {
  it('encodes fence tokens as WireUint64 to the same bytes as their decimal strings', () => {
    const method = keepAlive();
    for (const fence of FENCES) {
      const asBits = method.responseSerialize({ results: [{ scope: 'a', fenceToken: uint64ToWire(fence) }] });
      const asText = method.responseSerialize({ results: [{ scope: 'a', fenceToken: fence.toString() }] });
      expect(Buffer.from(asBits).equals(Buffer.from(asText))).toBe(true);
    }
  });

  it('answers renewed and refused leases with the fence tokens a client decodes back exactly', () => {
    const items = FENCES.flatMap((fence) => [
      renewItemToWire({ scope: 's/a', fenceToken: fence, renewed: true, deadlineMs: 1234 }),
      renewItemToWire({
        scope: 's/b',
        fenceToken: fence,
        renewed: false,
        code: 'STALE_FENCE',
        currentFenceToken: 2n ** 64n - 1n - fence,
      }),
      renewItemToWire({
        scope: 's/c',
        fenceToken: fence,
        renewed: false,
        code: 'STALE_FENCE',
        currentFenceToken: null,
      }),
    ]);
    const decoded = roundTrip(items);
    FENCES.forEach((fence, i) => {
      expect(decoded[3 * i]).toMatchObject({
        scope: 's/a',
        fenceToken: fence.toString(),
        renewed: true,
        deadlineMs: '1234',
      });
      expect(decoded[3 * i + 1]).toMatchObject({
        fenceToken: fence.toString(),
        renewed: false,
        errorCode: 'STALE_FENCE',
        currentFenceToken: (2n ** 64n - 1n - fence).toString(),
      });
      expect(decoded[3 * i + 2]!['currentFenceToken']).toBeUndefined();
    });
  });
});
