import type { Point, Stream, Verification } from '../../client/src/index';

export type OutputFormat = 'table' | 'csv' | 'json';

/** A point's columns: `time`, its dimensions, then each value (`field.avg` for a downsampled one). */
export function pointColumns(p: Point): Record<string, unknown> {
  const row: Record<string, unknown> = { time: p.time, ...(p.end !== undefined && { end: p.end, count: p.count }), ...p.dimensions };
  for (const [field, v] of Object.entries(p.values)) {
    if (v !== null && typeof v === 'object') {
      for (const [agg, x] of Object.entries(v)) {
        // a trend is {slope, r2}: one column each
        if (x !== null && typeof x === 'object') for (const [part, y] of Object.entries(x)) row[`${field}.${agg}.${part}`] = y;
        else row[`${field}.${agg}`] = x;
      }
    } else row[field] = v;
  }
  return row;
}

/** A stored point as the record that would store it again: the stream's time field, dimensions, values. */
export function pointRecord(p: Point, stream: Pick<Stream, 'timeField'>): Record<string, unknown> {
  return { [stream.timeField ?? 'timestamp']: p.time, ...p.dimensions, ...p.values };
}

const csvCell = (v: unknown) => {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** Rows as CSV with a header of every column seen, in first-seen order. */
export function toCsv(rows: Record<string, unknown>[], columns = columnsOf(rows)): string {
  return [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n');
}

export function columnsOf(rows: Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

/** Rows as an aligned text table. */
export function toTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = columnsOf(rows);
  const text = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => text(r[c]))))].join('\n');
}

export function render(rows: Record<string, unknown>[], format: OutputFormat): string {
  return format === 'json' ? JSON.stringify(rows, null, 2) : format === 'csv' ? toCsv(rows) : toTable(rows);
}

/** `verify`'s answer as lines: the verdict and counts, then each problem with its batch. */
export function verificationReport(v: Verification): string {
  const r = v.records;
  const head = v.receipts.head ? `, head #${v.receipts.head.seq} ${v.receipts.head.chain.slice(0, 16)}…` : '';
  const lines = [
    `${v.verified ? 'verified' : 'NOT VERIFIED'}: ${v.streamId} ${v.window.start} to ${v.window.end}`,
    `receipts: ${v.receipts.inWindow} in the window of ${v.receipts.total}, ${v.receipts.signed} signed${v.key ? ` by ${v.key.keyId}` : ''}${head}`,
    `records: ${r.verified} verified, ${r.altered} altered, ${r.dropped} dropped, ${r.inserted} inserted, ${r.expired} expired`,
  ];
  for (const p of v.problems) lines.push(`  ${p.kind}${p.batch !== undefined ? ` batch #${p.batch}` : ''}${p.record ? ` ${p.record}` : ''}: ${p.reason}`);
  return lines.join('\n');
}
