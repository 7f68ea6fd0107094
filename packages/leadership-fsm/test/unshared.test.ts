import { parseCommand } from '../src/commands';
import { unshared } from '../src/text';
import { packValue, unpackValue } from '../src/codec';

describe('unshared', () => {
  it.each([
    ['empty', ''],
    ['ascii', 'scale/c12/345'],
    ['a slice of a longer string', 'acquire-0b6f0012-1c2d-4e5f-8a9b-0c1d2e3f4a5b'.repeat(3).slice(5, 41)],
    ['non-ASCII', 'métadonnées ✓ 🚀'],
    ['a lone surrogate', 'a\ud800b'],
    ['1,024 characters', 'x'.repeat(1024)],
  ])('gives back exactly the same string: %s', (_what, text) => {
    const copy = unshared(text);
    expect(copy).toBe(text);
    expect(copy.length).toBe(text.length);
  });

  it('leaves a decoded grant command equal to what was encoded', () => {
    const command = {
      type: 'acquire',
      correlationId: 'acquire-0b6f0012-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
      scope: 'shard/orders/0012',
      candidateId: 'worker-0012.orders.svc',
      sessionId: '0b6f0012-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
      metadata: '{"addr":"10.0.0.12:8080","zone":"é"}',
      leaseTtlMs: 10_000,
    };
    expect(parseCommand(unpackValue(packValue(command)))).toEqual(command);
  });
});
