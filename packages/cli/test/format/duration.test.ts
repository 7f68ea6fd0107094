import { formatDurationMs, formatStampMs } from '../../src/format/duration';
import { renderTable } from '../../src/format/table';

describe('formatDurationMs', () => {
  it.each([
    [0, '0ms'],
    [999, '999ms'],
    [1000, '1s'],
    [8_250, '8.2s'],
    [59_999, '59.9s'],
    [60_000, '1m00s'],
    [125_000, '2m05s'],
    [3_600_000, '1h00m'],
    [3_723_000, '1h02m'],
    [-300, '-300ms'],
    [-61_000, '-1m01s'],
    [Number.NaN, '-'],
  ])('renders %d ms as %s', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
  });
});

describe('formatStampMs', () => {
  it('renders ISO 8601 in UTC, and - for nonsense', () => {
    expect(formatStampMs(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(formatStampMs(Number.POSITIVE_INFINITY)).toBe('-');
  });
});

describe('renderTable', () => {
  it('aligns columns two spaces apart with no trailing spaces', () => {
    expect(
      renderTable(
        ['A', 'LONG'],
        [
          ['xyz', ''],
          ['1', '2'],
        ],
      ),
    ).toBe('A    LONG\nxyz\n1    2\n');
  });
});
