import { CertError } from './cert-error';

/** DAYS_MAX is the longest validity `days` may ask for (10 years). */
export const DAYS_MAX = 3650;

/** CA_DAYS_DEFAULT is a CA's validity when neither `days` nor `notAfter` is given. */
export const CA_DAYS_DEFAULT = 3650;

/** LEAF_DAYS_DEFAULT is a node or client certificate's validity when neither is given. */
export const LEAF_DAYS_DEFAULT = 365;

/**
 * NOT_BEFORE_BACKDATE_MS is how far before "now" a default notBefore lies, so a certificate is
 * already valid on a peer whose clock is a little behind the issuer's.
 */
export const NOT_BEFORE_BACKDATE_MS = 5 * 60_000;

const DAY_MS = 86_400_000;

/** ValidityOptions are the caller's say on a certificate's validity window. */
export interface ValidityOptions {
  readonly days?: number | undefined;
  readonly notBefore?: Date | undefined;
  readonly notAfter?: Date | undefined;
}

/** Validity is a checked window; `defaulted` is true when the caller gave neither days nor notAfter. */
export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly defaulted: boolean;
}

/**
 * validityWindow turns `options` into a window, at `nowMs`: notBefore defaults to now minus
 * NOT_BEFORE_BACKDATE_MS; notAfter is `notAfter`, else notBefore (or now, when notBefore is the
 * default) plus `days` (1..DAYS_MAX, default `defaultDays`), both rounded down to whole seconds. Giving both `days` and `notAfter`,
 * an invalid date, or notBefore not before notAfter is INVALID_ARGUMENT.
 */
export function validityWindow(options: ValidityOptions, nowMs: number, defaultDays: number): Validity {
  const { days, notBefore, notAfter } = options;
  if (days !== undefined && (!Number.isSafeInteger(days) || days < 1 || days > DAYS_MAX)) {
    throw new CertError(
      'INVALID_ARGUMENT',
      `days ${String(days)} is out of range`,
      `give a whole number of days from 1 to ${DAYS_MAX}`,
    );
  }
  if (days !== undefined && notAfter !== undefined) {
    throw new CertError('INVALID_ARGUMENT', 'both days and notAfter were given', 'give one of them');
  }
  checkDate(notBefore, 'notBefore');
  checkDate(notAfter, 'notAfter');
  const from = notBefore?.getTime() ?? nowMs - NOT_BEFORE_BACKDATE_MS;
  const to = notAfter?.getTime() ?? (notBefore === undefined ? nowMs : from) + (days ?? defaultDays) * DAY_MS;
  // A certificate holds its times in whole seconds: round down here, so the window returned is
  // exactly the one in the certificate.
  const start = Math.floor(from / 1000) * 1000;
  const end = Math.floor(to / 1000) * 1000;
  if (start >= end) {
    throw new CertError(
      'INVALID_ARGUMENT',
      `notBefore ${new Date(start).toISOString()} is not before notAfter ${new Date(end).toISOString()}`,
      'give a notBefore earlier than notAfter',
    );
  }
  return {
    notBefore: new Date(start),
    notAfter: new Date(end),
    defaulted: days === undefined && notAfter === undefined,
  };
}

function checkDate(date: Date | undefined, what: string): void {
  // Not `instanceof Date`: a Date from another realm (a Jest test) must pass too.
  if (date !== undefined && (typeof date.getTime !== 'function' || Number.isNaN(date.getTime()))) {
    throw new CertError('INVALID_ARGUMENT', `${what} is not a valid date`, `give ${what} as a Date`);
  }
}
