import { BadRequestError, type Issue } from './errors';
import { MAX_LIMIT, parseDataQuery, type DataQuery } from './query';
import type { Stream } from './stream-definition';

/** The formats `GET …/export` writes. */
export const EXPORT_FORMATS = ['csv', 'ndjson', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Each format's media type and file extension. */
export const EXPORT_TYPES: Readonly<Record<ExportFormat, { contentType: string; ext: string }>> = {
  csv: { contentType: 'text/csv; charset=utf-8', ext: 'csv' },
  ndjson: { contentType: 'application/x-ndjson; charset=utf-8', ext: 'ndjson' },
  parquet: { contentType: 'application/vnd.apache.parquet', ext: 'parquet' },
};

/** Where export files are kept in the export store: `exports/<stream>/<export id>.<ext>`, expired after a day. */
export const EXPORTS_PREFIX = 'exports/';

/** Rows read from the store per page of an export: the query API's largest page. */
export const EXPORT_PAGE_ROWS = MAX_LIMIT;

/** The parameters an export takes besides `dim.NAME`: the data query's that shape rows, not pages. */
const EXPORT_PARAMS = new Set(['format', 'start', 'end', 'fields', 'granularity', 'downsamplers', 'groupBy']);

export interface ExportQuery {
  format: ExportFormat;
  /** The data query of the first page (`limit` is a page's rows). */
  query: DataQuery;
  /** `<stream>_<start>_<end>.<ext>`, times in RFC 3339 with `:` made `-` so every file system takes it. */
  filename: string;
}

/**
 * Parses `GET /v1/streams/{id}/export` parameters: `format` (`csv` default, `ndjson`, `parquet`) and the data
 * query's `start`, `end`, `fields`, `granularity`, `downsamplers`, `groupBy` and `dim.NAME`; paging parameters
 * (`limit`, `cursor`, `order`) and windows are refused, since an export is the whole range in time order.
 * Throws a `BadRequestError` naming each bad parameter.
 *
 * @example
 * parseExportQuery(stream, { format: 'csv', start: '2026-12-01T00:00:00Z', end: '2026-12-02T00:00:00Z' }, Date.now());
 */
export function parseExportQuery(stream: Stream, params: Record<string, string | undefined>, now: number): ExportQuery {
  const issues: Issue[] = [];
  const taken: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(params)) {
    if (EXPORT_PARAMS.has(name) || name.startsWith('dim.')) taken[name] = value;
    else issues.push({ path: [name], message: `is not a parameter of an export (it takes ${[...EXPORT_PARAMS].join(', ')} and dim.NAME)` });
  }
  const format = (params.format ?? 'csv') as ExportFormat;
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) issues.push({ path: ['format'], message: `must be one of ${EXPORT_FORMATS.join(', ')}` });
  let query: DataQuery | undefined;
  try {
    // the refused ones are not read again: each bad parameter is named once
    const { format: _format, ...rest } = taken;
    query = parseDataQuery(stream, { ...rest, limit: String(EXPORT_PAGE_ROWS) }, now);
  } catch (err) {
    if (!(err instanceof BadRequestError)) throw err;
    issues.push(...err.issues);
  }
  if (issues.length > 0 || !query) throw new BadRequestError('Invalid export query.', issues);
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/:/g, '-');
  return { format, query, filename: `${stream.id}_${stamp(query.start)}_${stamp(query.end)}.${EXPORT_TYPES[format].ext}` };
}

/**
 * A CSV cell a spreadsheet would not read as a formula (OWASP CSV injection): text that starts with `=`, `+`,
 * `-`, `@`, a tab or a carriage return gets a leading `'`. Numbers are written as numbers, so a negative
 * reading stays `-18.5`; only text is escaped.
 *
 * @example
 * spreadsheetSafe('=HYPERLINK("http://x")'); // "'=HYPERLINK(\"http://x\")"
 * spreadsheetSafe(-18.5); // -18.5
 */
export function spreadsheetSafe(value: unknown): unknown {
  return typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/**
 * `attachment; filename="…"` for a download (RFC 6266); quotes, backslashes and line breaks in the name become `_`.
 *
 * @example
 * contentDisposition('freezers.csv'); // 'attachment; filename="freezers.csv"'
 */
export function contentDisposition(filename: string): string {
  return `attachment; filename="${filename.replace(/["\\\r\n]/g, '_')}"`;
}
