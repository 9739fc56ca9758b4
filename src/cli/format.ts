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
  const widths = columns.map((c, i) =>
    Math.max(width(c), ...cells.map((row) => width(row[i] ?? ''))),
  );
  const numeric = columns.map(
    (c) =>
      rows.length > 0 &&
      rows.every((r) => r[c] === null || typeof r[c] === 'number' || typeof r[c] === 'bigint'),
  );
  const line = (vals: string[], header = false) =>
    vals
      .map((v, i) => {
        const w = widths[i] ?? 0;
        if (header) return center(v, w);
        return numeric[i] ? v.padStart(w + v.length - width(v)) : v.padEnd(w + v.length - width(v));
      })
      .join(' | ')
      .replace(/\s+$/, '');
  const out = [
    ' ' + line([...columns], true),
    '-' + widths.map((w) => '-'.repeat(w)).join('-+-') + '-',
    ...cells.map((r) => ' ' + line(r)),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
  ];
  return out.join('\n');
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
