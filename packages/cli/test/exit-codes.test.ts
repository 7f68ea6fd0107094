import { SERVER_ERROR_CODES } from '@omnirelay/client-sdk';
import type { ErrorCode as ServerErrorCode } from '@omnirelay/server';
import { ERROR_TABLE } from '@omnirelay/server';
import { EXIT, EXIT_CODE_OF, EXIT_CODES_HELP, exitCodeFor } from '../src/exit-codes';

describe('EXIT_CODE_OF', () => {
  const serverCodes = Object.keys(ERROR_TABLE) as ServerErrorCode[];

  it.each(serverCodes)("gives %s the server's CLI exit code", (code) => {
    expect(EXIT_CODE_OF[code]).toBe(ERROR_TABLE[code].cliExitCode);
  });

  it("covers exactly the server's codes plus the SDK's own", () => {
    expect([...SERVER_ERROR_CODES].sort()).toEqual([...serverCodes].sort());
    const clientCodes = Object.keys(EXIT_CODE_OF).filter((c) => !(c in ERROR_TABLE));
    expect(clientCodes.sort()).toEqual(['CANCELLED', 'CLOSED', 'LEASE_LOST', 'SLOW_CONSUMER', 'UNAVAILABLE']);
  });

  it('decides the SDK-only codes', () => {
    expect(EXIT_CODE_OF.UNAVAILABLE).toBe(EXIT.UNAVAILABLE);
    expect(EXIT_CODE_OF.LEASE_LOST).toBe(EXIT.REJECTED);
    expect(EXIT_CODE_OF.CANCELLED).toBe(EXIT.INTERNAL);
    expect(EXIT_CODE_OF.CLOSED).toBe(EXIT.INTERNAL);
    expect(EXIT_CODE_OF.SLOW_CONSUMER).toBe(EXIT.OVERLOADED);
    expect(EXIT_CODE_OF.DEADLINE_EXCEEDED).toBe(EXIT.OVERLOADED);
  });

  it('uses only the documented exit codes', () => {
    for (const exitCode of Object.values(EXIT_CODE_OF)) {
      expect(EXIT_CODES_HELP).toContain(`  ${exitCode}  `);
    }
  });

  it('treats an unknown code as internal', () => {
    expect(exitCodeFor('SOMETHING_NEW')).toBe(EXIT.INTERNAL);
    expect(exitCodeFor('toString')).toBe(EXIT.INTERNAL);
  });
});
