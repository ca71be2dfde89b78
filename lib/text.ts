/**
 * Terminal text that lines up with Vietnamese names: widths count code points of the NFC form, in which every
 * Vietnamese letter with its marks ("ợ", "Đ") is one precomposed code point and one column.
 */
export function displayWidth(s: string): number {
  return [...s.normalize('NFC')].length;
}

const pad = (s: string, w: number) => s.normalize('NFC') + ' '.repeat(Math.max(0, w - displayWidth(s)));

/** Lays out rows of cells in aligned columns (two spaces apart), one string a row. */
export function alignColumns(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, displayWidth(c))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c.normalize('NFC') : pad(c, widths[i]!))).join('  ').trimEnd());
}
