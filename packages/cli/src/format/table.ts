/** COLUMN_GAP separates two columns of a table. */
const COLUMN_GAP = '  ';

/**
 * renderTable lays out `rows` under `headers` in left-aligned columns, each as wide as its
 * widest cell, two spaces apart, with no trailing spaces; every line ends in a newline. A row
 * shorter than the headers is padded with empty cells.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    headers
      .map((_, i) => (cells[i] ?? '').padEnd(widths[i] ?? 0))
      .join(COLUMN_GAP)
      .trimEnd() + '\n';
  return line(headers) + rows.map(line).join('');
}
