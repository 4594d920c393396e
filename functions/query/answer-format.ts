import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { spreadsheetSafe } from '../../shared/domain/exports';
import type { DataQuery, Row } from '../../shared/domain/query';
import type { Stream } from '../../shared/domain/stream-definition';
import type { HttpResult } from '../commons/http';

const gzipAsync = promisify(gzip);

/** The media types a data answer is written in; JSON unless `Accept` prefers another. */
export const ANSWER_TYPES = ['application/json', 'text/csv', 'application/x-ndjson'] as const;
export type AnswerType = (typeof ANSWER_TYPES)[number];

/** The header that carries the next page's cursor in a CSV or NDJSON answer (JSON has `nextCursor`). */
export const NEXT_CURSOR_HEADER = 'next-cursor';

/** A point as the JSON answer shapes it. */
export interface ShapedPoint {
  time: string;
  /** A session window's last point, and its points. */
  end?: string;
  count?: number;
  dimensions?: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * The answer type `Accept` prefers (RFC 9110 §12.5.1: highest `q` first, then the order given); `*\/*`, an
 * absent header or only types we do not write give JSON, as a server may answer without honouring Accept.
 *
 * @example
 * answerType('text/csv;q=0.9, application/x-ndjson'); // 'application/x-ndjson'
 */
export function answerType(accept: string | undefined): AnswerType {
  if (!accept) return 'application/json';
  let best: { type: AnswerType; q: number } | undefined;
  for (const part of accept.split(',')) {
    const [range, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!(q > 0)) continue;
    const type = range === 'application/ndjson' ? 'application/x-ndjson' : range === '*/*' || range === 'application/*' ? 'application/json' : range === 'text/*' ? 'text/csv' : range;
    if ((ANSWER_TYPES as readonly string[]).includes(type!) && (!best || q > best.q)) best = { type: type as AnswerType, q };
  }
  return best?.type ?? 'application/json';
}

/**
 * Whether `Accept-Encoding` takes gzip (`gzip`, `x-gzip` or `*`, with a `q` above 0).
 *
 * @example
 * acceptsGzip('gzip, deflate, br'); // true
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  return acceptEncoding.split(',').some((part) => {
    const [coding, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === 'x-gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * The points of a data answer as CSV: a header row `time` (and a session window's `end` and `count`), the
 * series' dimensions, then one column per field (raw) or per field and downsampler (`temperature.mean`; a
 * trend as `temperature.trend.slope` and `temperature.trend.r2`), the same columns on every page so pages
 * concatenate; an absent value is an empty cell, objects and arrays are their JSON. Cells are quoted per
 * RFC 4180 and, for `GET …/data`, written as stored: a value that looks like a formula is not altered (open
 * such a file in a spreadsheet with its formula evaluation off); `GET …/export` escapes them (`formulaSafe`).
 *
 * @example
 * toCsv(q, points); // 'time,deviceId,temperature\r\n2026-12-01T00:00:00.000Z,f-1,-18.5\r\n'
 */
export function toCsv(q: Pick<DataQuery, 'granularity' | 'keyDimensions' | 'fields' | 'downsamplers' | 'window'>, points: ShapedPoint[], options: CsvOptions = {}): string {
  const raw = q.granularity === 'raw';
  const dims = q.keyDimensions;
  const session = q.window?.kind === 'session';
  const columns = raw ? q.fields.map((f) => [f]) : q.fields.flatMap((f) => q.downsamplers.flatMap((d) => (d === 'trend' ? [[f, d, 'slope'], [f, d, 'r2']] : [[f, d]])));
  const write = options.formulaSafe ? (v: unknown) => cell(spreadsheetSafe(v)) : cell;
  const lines = options.header === false ? [] : [['time', ...(session ? ['end', 'count'] : []), ...dims, ...columns.map((c) => c.join('.'))].map(write).join(',')];
  const valueOf = (p: ShapedPoint, [f, d, part]: string[]): unknown => {
    if (!d) return p.values[f!];
    const v = (p.values[f!] as Record<string, unknown> | undefined)?.[d];
    return part ? (v as Record<string, unknown> | null | undefined)?.[part] : v;
  };
  for (const p of points) {
    const cells = [p.time, ...(session ? [p.end, p.count] : []), ...dims.map((d) => p.dimensions?.[d]), ...columns.map((c) => valueOf(p, c))];
    lines.push(cells.map(write).join(','));
  }
  return lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`;
}

export interface CsvOptions {
  /** Whether the header row is written (default true); an export's later pages go without it. */
  header?: boolean;
  /** Escape text cells a spreadsheet would read as formulas (`spreadsheetSafe`), as exports do. */
  formulaSafe?: boolean;
}

/**
 * The points of a data answer as NDJSON: one JSON answer point per line.
 *
 * @example
 * toNdjson(points); // '{"time":"…","values":{…}}\n'
 */
export function toNdjson(points: ShapedPoint[]): string {
  let out = '';
  for (const p of points) out += `${JSON.stringify(p)}\n`;
  return out;
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A 200 answer in the chosen type, gzipped (and base64-encoded, as API Gateway and the local gateway send
 * bytes) when `Accept-Encoding` takes gzip. `Vary` names both headers the answer depends on.
 *
 * @example
 * return encodedAnswer(event.headers, 'text/csv', csvText, { 'next-cursor': cursor });
 */
export async function encodedAnswer(gzipped: boolean, type: AnswerType, body: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const base = { 'content-type': type === 'application/json' ? type : `${type}; charset=utf-8`, vary: 'accept, accept-encoding', ...headers };
  if (!gzipped) return { statusCode: 200, headers: base, body };
  const bytes = await gzipAsync(body);
  return { statusCode: 200, headers: { ...base, 'content-encoding': 'gzip' }, body: bytes.toString('base64'), isBase64Encoded: true };
}

/** Raw values come back in the schema's types: datetimes as RFC 3339, objects and arrays as JSON. */
export function shapeRow(stream: Stream, row: Row, raw: boolean): ShapedPoint {
  const hasDims = Object.keys(row.dimensions).length > 0;
  let values = row.values;
  if (raw) {
    values = {};
    for (const [name, v] of Object.entries(row.values)) {
      if (v === null || v === undefined) continue;
      const type = stream.schema[name]?.type;
      values[name] = type === 'datetime' ? new Date(v as number).toISOString() : type === 'object' || type === 'array' || type === 'graph' ? JSON.parse(v as string) : v;
    }
  }
  return {
    time: new Date(row.time).toISOString(),
    // a session window's last point and its points
    ...(row.end !== undefined && { end: new Date(row.end).toISOString() }),
    ...(row.count !== undefined && { count: row.count }),
    ...(hasDims && { dimensions: row.dimensions }),
    values,
  };
}
