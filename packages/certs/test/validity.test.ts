import { isCertError } from '../src/cert-error';
import { DAYS_MAX, NOT_BEFORE_BACKDATE_MS, validityWindow } from '../src/validity';

const NOW = Date.parse('2030-06-01T12:00:00.750Z');
const DAY_MS = 86_400_000;

describe('validityWindow', () => {
  it('starts a default window a little in the past and ends it `defaultDays` after now, in whole seconds', () => {
    expect(validityWindow({}, NOW, 10)).toEqual({
      notBefore: new Date(Math.floor((NOW - NOT_BEFORE_BACKDATE_MS) / 1000) * 1000),
      notAfter: new Date('2030-06-11T12:00:00.000Z'),
      defaulted: true,
    });
  });

  it('counts days from an explicit notBefore', () => {
    const notBefore = new Date('2031-01-01T00:00:00Z');
    expect(validityWindow({ notBefore, days: 2 }, NOW, 10)).toEqual({
      notBefore,
      notAfter: new Date(notBefore.getTime() + 2 * DAY_MS),
      defaulted: false,
    });
  });

  it('takes notAfter as given, even in the past', () => {
    const notBefore = new Date('2020-01-01T00:00:00Z');
    const notAfter = new Date('2020-01-02T00:00:00Z');
    expect(validityWindow({ notBefore, notAfter }, NOW, 10)).toEqual({
      notBefore,
      notAfter,
      defaulted: false,
    });
  });

  it.each([
    [{ days: 0 }],
    [{ days: DAYS_MAX + 1 }],
    [{ days: Number.NaN }],
    [{ days: 2.5 }],
    [{ days: 1, notAfter: new Date(NOW + DAY_MS) }],
    [{ notBefore: new Date(Number.NaN) }],
    [{ notBefore: new Date(NOW), notAfter: new Date(NOW) }],
    [{ notBefore: new Date(NOW), notAfter: new Date(NOW + 200) }], // the same whole second
  ])('refuses %j with INVALID_ARGUMENT', (options) => {
    let thrown: unknown;
    try {
      validityWindow(options, NOW, 10);
    } catch (e) {
      thrown = e;
    }
    expect(isCertError(thrown, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('accepts DAYS_MAX days', () => {
    expect(validityWindow({ days: DAYS_MAX }, NOW, 10).defaulted).toBe(false);
  });
});
