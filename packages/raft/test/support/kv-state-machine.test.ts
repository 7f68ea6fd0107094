import { KvStateMachine, decodeSet, encodeSet } from './kv-state-machine';

describe('KvStateMachine', () => {
  it('encodes and decodes set commands, and refuses keys with spaces', () => {
    expect(decodeSet(encodeSet('k1', 'hello world'))).toEqual({ key: 'k1', value: 'hello world' });
    expect(decodeSet(new TextEncoder().encode('get k1'))).toBeUndefined();
    expect(() => encodeSet('a b', 'v')).toThrow(
      'encodeSet: key must be non-empty and without spaces, got "a b"',
    );
  });

  it('applies entries in order, returns the previous value and records what it applied', () => {
    const kv = new KvStateMachine();
    expect(kv.apply({ kind: 'noop', index: 1, term: 1 })).toEqual({ kind: 'none' });
    expect(kv.apply({ kind: 'command', index: 2, term: 1, data: encodeSet('a', '1') })).toEqual({
      kind: 'set',
      key: 'a',
      previous: undefined,
    });
    expect(kv.apply({ kind: 'command', index: 3, term: 2, data: encodeSet('a', '2') })).toEqual({
      kind: 'set',
      key: 'a',
      previous: '1',
    });
    expect(kv.get('a')).toBe('2');
    expect(kv.appliedIndex).toBe(3);
    expect(kv.history.map((r) => `${r.index}@${r.term}`)).toEqual(['1@1', '2@1', '3@2']);
  });

  it('refuses to skip or repeat an index', () => {
    const kv = new KvStateMachine();
    expect(() => kv.apply({ kind: 'noop', index: 2, term: 1 })).toThrow(
      'kv: apply(2) out of order, applied is 0',
    );
  });

  it('restores from its snapshot to the same state and running digest', () => {
    const kv = new KvStateMachine();
    kv.apply({ kind: 'command', index: 1, term: 1, data: encodeSet('b', 'x') });
    kv.apply({ kind: 'command', index: 2, term: 1, data: encodeSet('a', 'y') });
    const copy = KvStateMachine.restore(kv.snapshot());
    expect(copy.get('a')).toBe('y');
    expect(copy.get('b')).toBe('x');
    expect(copy.appliedIndex).toBe(2);
    expect(copy.chain).toBe(kv.chain);
    expect(copy.snapshot()).toEqual(kv.snapshot());
    expect(KvStateMachine.restore(new Uint8Array(0)).appliedIndex).toBe(0);
  });
});
