import { isServerError } from '../../src/index';
import { parseFenceToken, requestFields, revisionField } from '../../src/grpc/request-fields';

describe('the gRPC request field readers', () => {
  it.each(['1', '42', '999999999999999', '1000000000000000', '9007199254740993', '18446744073709551615'])(
    'reads fence token %s as a bigint',
    (text) => {
      expect(parseFenceToken(text)).toBe(BigInt(text));
    },
  );

  it.each([
    ['zero', '0'],
    ['above uint64', '18446744073709551616'],
    ['negative', '-1'],
    ['not decimal', '0x10'],
    ['a leading zero', '007'],
    ['zero with a leading zero', '00'],
    ['a leading zero at 16 digits', '0123456789012345'],
    ['a sign', '+5'],
    ['a space', ' 5'],
    ['a fraction', '1.5'],
    ['an exponent', '1e5'],
    ['empty', ''],
    ['a number, not a string', 5],
    ['absent', undefined],
  ])('refuses a fence token that is %s with INVALID_ARGUMENT naming the field', (_what, value) => {
    let thrown: unknown;
    try {
      parseFenceToken(value, 'fenceToken');
    } catch (e) {
      thrown = e;
    }
    expect(isServerError(thrown, 'INVALID_ARGUMENT')).toBe(true);
    expect((thrown as Error).message).toMatch(/^fence_token /);
  });

  it('refuses a revision beyond a safe integer', () => {
    expect(revisionField({ fromRevision: '9007199254740991' }, 'fromRevision')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => revisionField({ fromRevision: '9007199254740993' }, 'fromRevision')).toThrow(
      /from_revision/,
    );
  });

  it('refuses a request that is not a message', () => {
    expect(() => requestFields(null, 'Acquire')).toThrow(/Acquire request must be a message/);
  });
});
