/**
 * Plain-text formatting for the bench report: no dependencies, so the table reads the same in a
 * terminal, a CI log and a pasted issue comment.
 */

/** Column alignment: numbers read best right-aligned. */
export type Align = 'left' | 'right';

/** Lays `rows` out in columns padded to the widest cell, the first row as the header. */
export function formatTable(rows: readonly (readonly string[])[], align: readonly Align[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  }
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) =>
        align[i] === 'right' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const [header, ...body] = rows;
  if (header === undefined) return '';
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** A number for humans: thousands separated, about three significant digits below 100. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A ratio such as `1.52×` (two significant digits when tiny, e.g. `0.0012×`). */
export const formatRatio = (r: number): string =>
  `${Math.abs(r) >= 0.01 || r === 0 ? r.toFixed(2) : r.toPrecision(2)}×`;
