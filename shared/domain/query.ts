import { BadRequestError, type Issue } from './errors';
import { parseTimestamp } from './datetime';
import type { Stream } from './stream-definition';
import { measureFields } from './stream-names';
import { GRANULARITIES, GRANULARITY_NAMES, MONTHS, NUMERIC_DOWNSAMPLERS, QUERY_DOWNSAMPLERS, queryGranularity, type Granularity, type QueryDownsampler } from './granularity';
import { parseWindow, slidingWindowsProblem, type QueryWindow, type WindowText } from './query-window';
import type { Value } from './validate-record';

/**
 * The query model: what `GET /v1/streams/{id}/data` and `/latest` ask, parsed from query-string
 * parameters and checked against the stream's schema. Stores receive only this model, never raw text:
 * every identifier in it is a field of the schema and every literal is typed.
 *
 * @example
 * const q = parseDataQuery(stream, { start: '2026-01-01T00:00:00Z', granularity: '1h', downsamplers: 'mean,max' }, Date.now());
 */

export {
  DOWNSAMPLERS,
  GRANULARITIES,
  GRANULARITY_NAMES,
  isPercentile,
  MONTHS,
  NUMERIC_DOWNSAMPLERS,
  PERCENTILES,
  QUERY_DOWNSAMPLERS,
  queryBinEnd,
  queryBinStart,
  queryGranularity,
  type Downsampler,
  type Granularity,
  type Percentile,
  type QueryDownsampler,
} from './granularity';
export type { QueryWindow, WindowText } from './query-window';

export const DEFAULT_LIMIT = 1_000;
export const MAX_LIMIT = 10_000;
export const DEFAULT_WINDOW_MS = 24 * 3_600_000;

/** Where the previous page stopped: the last row's time and its ordering key (dimension values). */
export interface Cursor {
  time: number;
  key: string[];
}

export interface DataQuery {
  /** Half-open range [start, end), epoch ms. */
  start: number;
  end: number;
  fields: string[];
  /** `raw`, a bin width, or with `window` the window's text (`sliding:5m/1m`), as the answer names it. */
  granularity: Granularity | WindowText;
  /** Bin width in ms (a tumbling window's size, a sliding window's step); 0 for raw, calendar months (`1mo`) and session windows. Aligned to the UTC epoch. */
  binMs: number;
  downsamplers: QueryDownsampler[];
  /** A tumbling, sliding or session window (`window=`); tumbling ones are read as bins of `binMs`. */
  window?: QueryWindow;
  /** Series filter: dimension → accepted values. */
  filters: Record<string, string[]>;
  /** Raw and session windows without `groupBy`: every dimension of the stream (a series key). Otherwise the `groupBy` dimensions. */
  keyDimensions: string[];
  groupBy: string[];
  limit: number;
  order: 'asc' | 'desc';
  after?: Cursor;
}

export interface LatestQuery {
  fields: string[];
  filters: Record<string, string[]>;
}

/** `trend`: the least-squares slope of the field against time, per second, and its r² (1 when the values are all equal). */
export interface Trend {
  slope: number;
  r2: number;
}

/**
 * One downsampled value: `{mean, min, max, count, …}`. Per downsampler: a number, or for `first`/`last` of a
 * string or boolean field that field's value, or for `trend` a `Trend`; null where the bin has no value (and
 * `trend` where fewer than two distinct times have one).
 */
export type Aggregates = Partial<Record<QueryDownsampler, Value | Trend | null>>;

/** A row as a store returns it. Raw rows carry `Value`s, downsampled rows `Aggregates`. */
export interface Row {
  time: number;
  dimensions: Record<string, string>;
  values: Record<string, Value | null | Aggregates>;
  /** A session window's last point (its start is `time`). */
  end?: number;
  /** A session window's points. */
  count?: number;
}

type Params = Record<string, string | undefined>;

const isNumeric = (stream: Stream, f: string) => stream.schema[f]?.type === 'number' || stream.schema[f]?.type === 'integer';

/** Parses `/data` parameters; throws a `BadRequestError` naming each bad parameter. */
export function parseDataQuery(stream: Stream, params: Params, now: number): DataQuery {
  const issues: Issue[] = [];
  const bad = (param: string, message: string) => issues.push({ path: [param], message });

  const { start, end } = parseRange(params, now, bad);

  let window: QueryWindow | undefined;
  if (params.window !== undefined) {
    const parsed = parseWindow(params.window);
    if ('message' in parsed) bad('window', parsed.message);
    else window = parsed.window;
    if (params.granularity !== undefined) bad('window', 'give window or granularity, not both');
  }
  // the document's names (`hours`, `months`) are the query granularity they name; own keys only, so `constructor` is none
  const named = window ? undefined : queryGranularity(params.granularity ?? 'raw');
  const granularity = window ? (params.window as WindowText) : (named ?? (params.granularity as Granularity));
  const binMs = window
    ? window.kind === 'tumbling'
      ? window.sizeMs
      : window.kind === 'sliding'
        ? window.stepMs
        : 0
    : granularity === 'raw' || granularity === MONTHS
      ? 0
      : named !== undefined
        ? GRANULARITIES[named as keyof typeof GRANULARITIES]
        : undefined;
  if (binMs === undefined) bad('granularity', `must be raw or one of ${[...Object.keys(GRANULARITIES), MONTHS, ...Object.keys(GRANULARITY_NAMES)].join(', ')}`);
  if (window && start !== undefined && end !== undefined && start < end) {
    const tooMany = slidingWindowsProblem(window, start, end);
    if (tooMany) bad('window', tooMany);
  }

  const measures = measureFields(stream);
  let fields = list(params.fields);
  for (const f of fields) {
    if (!measures.includes(f)) bad('fields', `'${f}' is not a measure field of the stream (${measures.join(', ')})`);
  }

  let downsamplers: QueryDownsampler[] = [];
  if (granularity !== 'raw') {
    downsamplers = (list(params.downsamplers).length ? list(params.downsamplers) : ['mean', 'min', 'max', 'count']) as QueryDownsampler[];
    for (const d of downsamplers) {
      if (!QUERY_DOWNSAMPLERS.includes(d)) bad('downsamplers', `'${d}' is not one of ${QUERY_DOWNSAMPLERS.join(', ')}`);
    }
    if (new Set(downsamplers).size !== downsamplers.length) bad('downsamplers', 'names a downsampler twice');
    if (fields.length === 0) {
      const needsNumber = downsamplers.filter((d) => NUMERIC_DOWNSAMPLERS.has(d));
      fields = needsNumber.length ? measures.filter((f) => isNumeric(stream, f)) : measures;
      if (needsNumber.length && fields.length === 0 && measures.length > 0) {
        bad('downsamplers', `${needsNumber.join(', ')} need a number or integer field; the stream has none, ask for count, first or last`);
      }
    } else {
      for (const f of fields) {
        const needsNumber = downsamplers.filter((d) => NUMERIC_DOWNSAMPLERS.has(d));
        if (measures.includes(f) && !isNumeric(stream, f) && needsNumber.length) {
          bad('fields', `'${f}' is ${stream.schema[f]?.type}; ${needsNumber.join(', ')} need a number or integer field`);
        }
      }
    }
  } else if (params.downsamplers !== undefined) {
    bad('downsamplers', 'applies only with a granularity other than raw');
  }
  if (fields.length === 0) fields = measures;

  const filters = parseFilters(stream, params, bad);
  const groupBy = list(params.groupBy);
  for (const g of groupBy) {
    if (!stream.dimensions.includes(g)) bad('groupBy', `'${g}' is not a dimension of the stream (${stream.dimensions.join(', ') || 'none'})`);
  }
  if (groupBy.length && granularity === 'raw') bad('groupBy', 'applies only with a granularity other than raw');

  const limit = params.limit === undefined ? DEFAULT_LIMIT : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) bad('limit', `must be an integer from 1 to ${MAX_LIMIT}`);
  const order = parseOrder(params, bad);

  // a session is a run of one series' points, or of one groupBy value's points when the query groups
  const keyDimensions = granularity === 'raw' || (window?.kind === 'session' && groupBy.length === 0) ? [...stream.dimensions] : groupBy;
  let after: Cursor | undefined;
  if (params.cursor !== undefined) {
    after = decodeCursor(params.cursor, keyDimensions.length);
    if (!after) bad('cursor', 'is not a cursor this query returned; start again without it');
  }
  if (issues.length) throw new BadRequestError('Invalid query parameters.', issues);
  return {
    start: start!,
    end: end!,
    fields,
    granularity,
    binMs: binMs!,
    downsamplers,
    filters,
    keyDimensions,
    groupBy,
    limit,
    order,
    ...(after && { after }),
    ...(window && { window }),
  };
}

/**
 * The range of `/data`: `start` (included) or `startExclusive` (excluded), `end` or `endExclusive` (both
 * excluded, as the datastream document's `get_data` has them). Times are epoch milliseconds, so a start
 * excluded is the next millisecond.
 */
function parseRange(params: Params, now: number, bad: (param: string, message: string) => void): { start?: number; end?: number } {
  const time = (name: string): number | undefined => {
    const text = params[name];
    if (text === undefined) return undefined;
    const t = parseTimestamp(numericOr(text));
    if (t === undefined) bad(name, 'must be an RFC 3339 date-time or epoch milliseconds');
    return t;
  };
  if (params.end !== undefined && params.endExclusive !== undefined) bad('endExclusive', 'give end or endExclusive, not both (both exclude the end)');
  if (params.start !== undefined && params.startExclusive !== undefined) bad('startExclusive', 'give start or startExclusive, not both');
  const endName = params.endExclusive !== undefined ? 'endExclusive' : 'end';
  const end = params[endName] === undefined ? now : time(endName);
  const exclusive = params.startExclusive !== undefined;
  const startName = exclusive ? 'startExclusive' : 'start';
  const given = time(startName);
  const start = params[startName] === undefined ? (end ?? now) - DEFAULT_WINDOW_MS : given === undefined ? undefined : given + (exclusive ? 1 : 0);
  if (start !== undefined && end !== undefined && start >= end) bad(startName, `must be before ${endName}${exclusive ? ' by more than 1 ms' : ''}`);
  return { ...(start !== undefined && { start }), ...(end !== undefined && { end }) };
}

/** `order=asc|desc`, or the datastream document's `reverse=true|false` (`true`: newest first); both given must agree. */
function parseOrder(params: Params, bad: (param: string, message: string) => void): 'asc' | 'desc' {
  let order: 'asc' | 'desc' = 'asc';
  if (params.order !== undefined) {
    if (params.order === 'asc' || params.order === 'desc') order = params.order;
    else bad('order', 'must be asc or desc');
  }
  if (params.reverse !== undefined) {
    if (params.reverse !== 'true' && params.reverse !== 'false') bad('reverse', 'must be true or false');
    else if (params.order !== undefined && (params.reverse === 'true') !== (order === 'desc')) bad('reverse', `contradicts order=${order}; give one of them`);
    else order = params.reverse === 'true' ? 'desc' : 'asc';
  }
  return order;
}

/** Parses `/latest` parameters. */
export function parseLatestQuery(stream: Stream, params: Params): LatestQuery {
  const issues: Issue[] = [];
  const bad = (param: string, message: string) => issues.push({ path: [param], message });
  const measures = measureFields(stream);
  const fields = list(params.fields);
  for (const f of fields) if (!measures.includes(f)) bad('fields', `'${f}' is not a measure field of the stream`);
  const filters = parseFilters(stream, params, bad);
  if (issues.length) throw new BadRequestError('Invalid query parameters.', issues);
  return { fields: fields.length ? fields : measures, filters };
}

function parseFilters(stream: Stream, params: Params, bad: (param: string, message: string) => void): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(params)) {
    if (!key.startsWith('dim.') || value === undefined) continue;
    const name = key.slice(4);
    if (!stream.dimensions.includes(name)) {
      bad(key, `'${name}' is not a dimension of the stream (${stream.dimensions.join(', ') || 'none'})`);
      continue;
    }
    // API Gateway joins repeated parameters with commas; a comma therefore separates values in both forms.
    const values = value.split(',').filter((v) => v.length > 0);
    if (values.length === 0 || values.length > 100) bad(key, 'needs 1 to 100 comma-separated values');
    else filters[name] = values;
  }
  return filters;
}

function list(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((s) => s.trim()).filter(Boolean);
}

function numericOr(v: string): string | number {
  return /^\d+$/.test(v) ? Number(v) : v;
}

/** Opaque cursor: base64url JSON of the last row's time and key. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.time, ...c.key])).toString('base64url');
}

export function decodeCursor(s: string, keyLength: number): Cursor | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== keyLength + 1) return undefined;
    const [time, ...key] = v;
    if (!Number.isSafeInteger(time) || !key.every((k) => typeof k === 'string')) return undefined;
    return { time, key };
  } catch {
    return undefined;
  }
}

/** The cursor for the page after `rows` when a store returned more rows than `limit`. */
export function nextCursor(q: DataQuery, rows: Row[]): string | undefined {
  if (rows.length <= q.limit) return undefined;
  const last = rows[q.limit - 1]!;
  return encodeCursor({ time: last.time, key: q.keyDimensions.map((d) => last.dimensions[d] ?? '') });
}
