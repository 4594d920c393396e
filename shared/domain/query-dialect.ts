import { BadRequestError, type Issue } from './errors';
import { parseDuration } from './durations';
import type { Stream } from './stream-definition';

/**
 * The query parameters of the Data Streams document, translated to the canonical ones of `query.ts`, and
 * the stream's default query applied:
 *
 * | the document writes | canonical |
 * |---|---|
 * | `aggregation=raw | minutely | hourly | daily` (or a bin such as `15m`) | `granularity=raw | 1m | 1h | 1d` |
 * | `timeRange=last_24_hours | last_7_days | last_hour | 7d | 24h | 30m` | `start` = `end` (default now) minus that |
 * | neither `granularity` nor `aggregation` | the stream's `defaultQuery` (its `processing.frequency` and `.aggregation`), else raw |
 *
 * Any other parameter is a 400 naming it.
 *
 * @example
 * canonicalQueryParams(stream, { aggregation: 'hourly', timeRange: 'last_24_hours' }, now);
 * // { granularity: '1h', start: '<now - 24 h, ISO>' }
 */

/** `aggregation` words → granularity. */
export const AGGREGATION_WORDS: Readonly<Record<string, string>> = {
  raw: 'raw',
  none: 'raw',
  secondly: '1s',
  minutely: '1m',
  minute: '1m',
  hourly: '1h',
  hour: '1h',
  daily: '1d',
  day: '1d',
};

/** The parameters `GET …/data` knows, besides `dim.NAME`. */
export const DATA_PARAMS = new Set(['start', 'end', 'startExclusive', 'endExclusive', 'reverse', 'valueDownsamplers', 'timeDownsamplers', 'keys', 'fields', 'granularity', 'window', 'downsamplers', 'groupBy', 'limit', 'cursor', 'order', 'aggregation', 'timeRange']);

const RELATIVE = /^last_(\d{1,4})_(minute|minutes|hour|hours|day|days)$/;
const UNIT = { minute: 'm', minutes: 'm', hour: 'h', hours: 'h', day: 'd', days: 'd' } as const;
const NAMED: Record<string, string> = { last_minute: '1m', last_hour: '1h', last_day: '1d', last_week: '7d', last_month: '30d' };
const MAX_RANGE_MS = 366 * 86_400_000;

type Params = Record<string, string | undefined>;

/**
 * Milliseconds of a relative time range (`last_24_hours`, `7d`, `last_hour`), or `undefined`.
 *
 * @example
 * relativeRangeMs('last_7_days'); // 604800000
 */
export function relativeRangeMs(text: string): number | undefined {
  const m = RELATIVE.exec(text);
  const duration = m ? `${m[1]}${UNIT[m[2] as keyof typeof UNIT]}` : (NAMED[text] ?? text);
  const ms = parseDuration(duration);
  return ms !== undefined && ms > 0 && ms <= MAX_RANGE_MS ? ms : undefined;
}

/**
 * The canonical parameters for `parseDataQuery`: the document's translated, the stream's default query
 * applied. Throws a `BadRequestError` naming each unknown or conflicting parameter.
 *
 * @example
 * const q = parseDataQuery(stream, canonicalQueryParams(stream, params, now), now);
 */
export function canonicalQueryParams(stream: Pick<Stream, 'defaultQuery' | 'aggregations'>, params: Params, now: number): Params {
  const issues: Issue[] = [];
  const bad = (param: string, message: string) => issues.push({ path: [param], message });
  for (const key of Object.keys(params)) {
    if (!DATA_PARAMS.has(key) && !key.startsWith('dim.')) bad(key, `is not a query parameter (${[...DATA_PARAMS].join(', ')}, dim.NAME)`);
  }
  const { aggregation, timeRange, ...out } = params;
  const named = aggregation === undefined ? undefined : stream.aggregations?.find((a) => a.name === aggregation);
  if (named) {
    // the stream's own aggregation: its bin, fields and downsamplers, unless the query gives them
    if (out.granularity !== undefined && out.granularity !== named.granularity) bad('aggregation', 'give aggregation or granularity, not both');
    if (out.window !== undefined) bad('aggregation', 'give aggregation or window, not both');
    out.granularity = named.granularity;
    out.fields ??= named.fields.join(',');
    out.downsamplers ??= named.downsamplers.join(',');
  } else if (aggregation !== undefined) {
    const granularity = Object.hasOwn(AGGREGATION_WORDS, aggregation) ? AGGREGATION_WORDS[aggregation] : aggregation;
    if (out.window !== undefined) bad('aggregation', 'give aggregation or window, not both');
    else if (out.granularity !== undefined && out.granularity !== granularity) bad('aggregation', 'give aggregation or granularity, not both');
    // an unknown word is reported by parseDataQuery as a granularity, listing the bins; name it here
    else if (!Object.hasOwn(AGGREGATION_WORDS, aggregation) && !/^\d+[smhd]$/.test(aggregation)) {
      const own = stream.aggregations?.length ? `, one of the stream's aggregations (${stream.aggregations.map((a) => a.name).join(', ')})` : '';
      bad('aggregation', `must be ${Object.keys(AGGREGATION_WORDS).join(', ')}${own} or a granularity such as 1m or 1h`);
    } else out.granularity = granularity;
  }
  if (timeRange !== undefined) {
    const ms = relativeRangeMs(timeRange);
    if (ms === undefined) bad('timeRange', 'must be last_N_minutes|hours|days (last_24_hours), last_hour, last_day, last_week or a duration such as 7d, at most a year');
    else if (out.start !== undefined) bad('timeRange', 'give timeRange or start, not both');
    else {
      const end = out.end === undefined ? now : /^\d+$/.test(out.end) ? Number(out.end) : Date.parse(out.end);
      if (Number.isFinite(end)) out.start = new Date(end - ms).toISOString();
    }
  }
  if (issues.length) throw new BadRequestError('Invalid query parameters.', issues);
  // a window is a query's own choice of bins: the stream's default query does not apply to it
  if (out.granularity === undefined && out.window === undefined && stream.defaultQuery) {
    out.granularity = stream.defaultQuery.granularity;
    out.downsamplers ??= stream.defaultQuery.downsamplers.join(',');
  }
  return out;
}
