import { CliError } from '../../src/cli-error';

/** isCliErrorWithExit runs `f` and tells whether it threw a CliError with `exitCode`. */
export function isCliErrorWithExit(f: () => unknown, exitCode: number): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return e instanceof CliError && e.exitCode === exitCode;
  }
}
