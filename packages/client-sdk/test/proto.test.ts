import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { decodeRepeatsOnce, loadServiceClients } from '../src/proto';
import { uint64ToWire } from '../src/wire';

/** protoLoaderKeepAlive is the KeepAlive method as proto-loader alone defines it: the reference the SDK's codec must match. */
function protoLoaderKeepAlive(): protoLoader.MethodDefinition<object, object> {
  const definition = protoLoader.loadSync(join(__dirname, '../../../proto/leadership.proto'), {
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const service = definition['omnirelay.leadership.v1.Leadership'] as Record<
    string,
    protoLoader.MethodDefinition<object, object>
  >;
  return service['KeepAlive']!;
}

describe('decodeRepeatsOnce', () => {
  it('decodes bytes equal to the last ones once and hands out the same object', () => {
    let decodes = 0;
    const decode = decodeRepeatsOnce((bytes: Buffer) => {
      decodes++;
      return { text: bytes.toString() };
    });
    const first = decode(Buffer.from('revision 5'));
    const again = decode(Buffer.from('revision 5'));
    expect(again).toBe(first);
    expect(decodes).toBe(1);
  });

  it('decodes different bytes afresh', () => {
    const decode = decodeRepeatsOnce((bytes: Buffer) => ({ text: bytes.toString() }));
    expect(decode(Buffer.from('revision 5')).text).toBe('revision 5');
    expect(decode(Buffer.from('revision 6')).text).toBe('revision 6');
    expect(decode(Buffer.from('revision 5')).text).toBe('revision 5');
  });

  it('is not fooled when the memory of the last message is reused for another', () => {
    const decode = decodeRepeatsOnce((bytes: Buffer) => ({ text: bytes.toString() }));
    const buffer = Buffer.from('revision 5');
    decode(buffer);
    buffer.write('revision 6');
    expect(decode(buffer).text).toBe('revision 6');
  });
});

describe('loadServiceClients', () => {
  it('decodes a Watch response repeated on many streams once', () => {
    const watch = loadServiceClients().Leadership.service.Watch!;
    const bytes = watch.responseSerialize({
      revision: '12',
      events: [{ revision: '12', scope: 'orders/1', reason: 'HOLDER_CHANGE_REASON_RESIGNED' }],
    });
    const first = watch.responseDeserialize(Buffer.from(bytes)) as { revision: string };
    const second = watch.responseDeserialize(Buffer.from(bytes)) as unknown;
    expect(first.revision).toBe('12');
    expect(second).toBe(first);
  });

  /** FENCES are uint64 values at every boundary of the 32-bit halves, up to the largest. */
  const FENCES = [1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];

  it('encodes a KeepAlive request with fences as 32-bit halves to the same bytes as proto-loader does from decimal strings', () => {
    const keepAlive = loadServiceClients().Leadership.service.KeepAlive!;
    const reference = protoLoaderKeepAlive();
    for (const fence of FENCES) {
      for (const releaseOnResetMs of [0, 500]) {
        const expected = reference.requestSerialize({
          leases: [
            { scope: 'orders/1', fenceToken: fence.toString(), releaseOnResetMs },
            { scope: 'orders/ü', fenceToken: '7', releaseOnResetMs },
          ],
        });
        const actual = keepAlive.requestSerialize({
          leases: [
            { scope: 'orders/1', fenceToken: uint64ToWire(fence), releaseOnResetMs },
            { scope: 'orders/ü', fenceToken: uint64ToWire(7n), releaseOnResetMs },
          ],
        });
        expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
      }
    }
  });

  it('decodes a KeepAlive answer to what the SDK reads: renewed, the error code and a refusal’s current fence', () => {
    const keepAlive = loadServiceClients().Leadership.service.KeepAlive!;
    const reference = protoLoaderKeepAlive();
    for (const fence of FENCES) {
      const bytes = reference.responseSerialize({
        results: [
          { scope: 'orders/1', fenceToken: fence.toString(), renewed: true, deadlineMs: '1733400000000' },
          {
            scope: 'orders/2',
            fenceToken: '3',
            renewed: false,
            errorCode: 'STALE_FENCE',
            currentFenceToken: fence.toString(),
          },
          { scope: 'orders/3', fenceToken: '4', renewed: false, errorCode: 'STALE_FENCE' },
        ],
      });
      expect(keepAlive.responseDeserialize(Buffer.from(bytes))).toEqual({
        results: [
          { renewed: true, errorCode: '' },
          { renewed: false, errorCode: 'STALE_FENCE', currentFenceToken: fence },
          { renewed: false, errorCode: 'STALE_FENCE' },
        ],
      });
    }
  });

  it('decodes an empty KeepAlive answer (a probe’s) to no results', () => {
    const keepAlive = loadServiceClients().Leadership.service.KeepAlive!;
    expect(keepAlive.responseDeserialize(Buffer.from(keepAlive.responseSerialize({ results: [] })))).toEqual({
      results: [],
    });
  });
});
