import { OmniRelayError } from '@omnirelay/client-sdk';
import { CliError, NEXT_STEP, describeFailure, oneLine, usageError } from '../src/cli-error';
import { EXIT, EXIT_CODE_OF } from '../src/exit-codes';

describe('describeFailure', () => {
  it('turns an SDK error into one line naming its code, with a next step', () => {
    const f = describeFailure(new OmniRelayError('NOT_HOLDER', 'scope "a" has no holder to step down'));
    expect(f).toEqual({
      line: `omnirelay: scope "a" has no holder to step down (NOT_HOLDER); ${NEXT_STEP.NOT_HOLDER}`,
      exitCode: EXIT.REJECTED,
    });
  });

  it("keeps the next step an error's message already gives", () => {
    const f = describeFailure(
      new OmniRelayError('UNAVAILABLE', 'cannot reach 127.0.0.1:1 (refused); check the node is running'),
    );
    expect(f.line).toBe(
      'omnirelay: cannot reach 127.0.0.1:1 (refused) (UNAVAILABLE); check the node is running',
    );
    expect(f.exitCode).toBe(EXIT.UNAVAILABLE);
  });

  it('folds a multi-line message into one line', () => {
    const f = describeFailure(new OmniRelayError('INTERNAL', 'first\nsecond\r\n  third.'));
    expect(f.line).not.toContain('\n');
    expect(f.line).toBe(`omnirelay: first second third (INTERNAL); ${NEXT_STEP.INTERNAL}`);
    expect(f.exitCode).toBe(EXIT.INTERNAL);
  });

  it('maps every SDK code to its exit code', () => {
    for (const code of Object.keys(EXIT_CODE_OF) as (keyof typeof EXIT_CODE_OF)[]) {
      expect(describeFailure(new OmniRelayError(code, 'x')).exitCode).toBe(EXIT_CODE_OF[code]);
    }
  });

  it('reports a usage error with exit 2', () => {
    expect(describeFailure(usageError('--x is bad', 'give --x 1'))).toEqual({
      line: 'omnirelay: --x is bad; give --x 1',
      exitCode: EXIT.USAGE,
    });
  });

  it('keeps the exit code of a CliError', () => {
    expect(describeFailure(new CliError(EXIT.UNAVAILABLE, 'none answered', 'check')).exitCode).toBe(3);
  });

  it('reports anything else as internal, without a stack', () => {
    const e = new TypeError('x is undefined');
    const f = describeFailure(e);
    expect(f.exitCode).toBe(EXIT.INTERNAL);
    expect(f.line).toBe('omnirelay: internal error (x is undefined); report it with the command you ran');
    expect(describeFailure('boom').line).toContain('internal error (boom)');
  });
});

describe('oneLine', () => {
  it('drops a trailing full stop before the next step', () => {
    expect(oneLine('it broke.', 'fix it')).toBe('omnirelay: it broke; fix it');
  });
});
