// Output for the CLI: psql-like aligned tables, or JSON lines for scripts.

export type Row = Record<string, unknown>;

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  if (typeof v === 'object') return JSON.stringify(v, jsonReplacer);
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? typeof v;
}

export function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer') {
    return `\\x${Buffer.from((v as { data: number[] }).data).toString('hex')}`;
  }
  return v;
}

/** An aligned table with a header rule and a row count, the way psql prints one. */
export function formatTable(
  rows: readonly Row[],
  columns: readonly string[] = columnsOf(rows),
): string {
  if (columns.length === 0)
    return rows.length === 0 ? '' : `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`;
  const cells = rows.map((r) => columns.map((c) => formatValue(r[c]).replace(/\n/g, '\\n')));
  const widths = columnWidths([[...columns], ...cells]);
  const numeric = columns.map(
    (c) =>
      rows.length > 0 &&
      rows.every((r) => r[c] === null || typeof r[c] === 'number' || typeof r[c] === 'bigint'),
  );
  const header = columns
    .map((c, i) => center(c, widths[i] ?? 0))
    .join(' | ')
    .replace(/\s+$/, '');
  const out = [
    ' ' + header,
    '-' + widths.map((w) => '-'.repeat(w)).join('-+-') + '-',
    ...cells.map((r) => ' ' + alignRow(r, widths, numeric, ' | ')),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
  ];
  return out.join('\n');
}

/** The width of each column of cells (in characters, not UTF-16 units). */
export function columnWidths(cells: readonly (readonly string[])[]): number[] {
  const widths: number[] = [];
  for (const row of cells) row.forEach((v, i) => (widths[i] = Math.max(widths[i] ?? 0, width(v))));
  return widths;
}

/** One line of aligned cells: right-aligned where `right[i]`, joined by sep, no trailing blanks. */
export function alignRow(
  vals: readonly string[],
  widths: readonly number[],
  right: readonly boolean[],
  sep: string,
): string {
  return vals
    .map((v, i) => {
      const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(v)));
      return right[i] ? pad + v : v + pad;
    })
    .join(sep)
    .replace(/\s+$/, '');
}

/**
 * Prints rows to stdout: an aligned table, or with json one JSON object per line (nothing
 * when there are no rows).
 */
export function printRows(
  rows: readonly object[],
  opts: { json?: boolean | undefined; columns?: readonly string[] | undefined } = {},
): void {
  if (opts.json) {
    if (rows.length > 0) process.stdout.write(formatJsonLines(rows) + '\n');
    return;
  }
  process.stdout.write(formatTable(rows as readonly Row[], opts.columns) + '\n');
}

/** A time as `YYYY-MM-DD HH:MM:SS.mmm` in UTC (to the second with 's'); '' for none. */
export function formatTime(d: Date | null | undefined, precision: 'ms' | 's' = 'ms'): string {
  return d
    ? d
        .toISOString()
        .replace('T', ' ')
        .slice(0, precision === 'ms' ? 23 : 19)
    : '';
}

export function formatJsonLines(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r, jsonReplacer)).join('\n');
}

function columnsOf(rows: readonly Row[]): string[] {
  const first = rows[0];
  return first ? Object.keys(first) : [];
}

function width(s: string): number {
  return [...s].length;
}

function center(s: string, w: number): string {
  const pad = w - width(s);
  const left = Math.floor(pad / 2);
  return ' '.repeat(left) + s + ' '.repeat(pad - left);
}
