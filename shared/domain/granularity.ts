import * as z from 'zod';

/**
 * The bins a query may downsample to, the downsamplers it may ask for, and a stream's default query
 * (`defaultQuery`): what `GET /v1/streams/{id}/data` answers when it names no granularity.
 *
 * @example
 * const defaults = DefaultQuerySchema.parse({ granularity: '1m', downsamplers: ['mean'] });
 */

export const GRANULARITIES = {
  '1s': 1_000,
  '10s': 10_000,
  '30s': 30_000,
  '1m': 60_000,
  '5m': 300_000,
  '10m': 600_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '1d': 86_400_000,
} as const;
/** Calendar months (UTC): a query granularity, not a fixed width, so not in `GRANULARITIES`. */
export const MONTHS = '1mo';
/** A query's granularity: raw points, a fixed bin width, or calendar months. */
export type Granularity = 'raw' | keyof typeof GRANULARITIES | typeof MONTHS;

/**
 * The datastream document's granularity names, each the query granularity it is. `months` are calendar months
 * in UTC (2012-07-31T12:23:52Z falls in the 2012-07 month), not 30 days.
 */
export const GRANULARITY_NAMES: Readonly<Record<string, Exclude<Granularity, 'raw'>>> = {
  seconds: '1s',
  '10seconds': '10s',
  minutes: '1m',
  '10minutes': '10m',
  hours: '1h',
  '6hours': '6h',
  days: '1d',
  months: MONTHS,
};

/**
 * The query granularity `text` names: `raw`, a bin of `GRANULARITIES`, `1mo`, or one of the document's names
 * (own keys only, so `constructor` is none); `undefined` when it names none.
 *
 * @example
 * queryGranularity('hours'); // '1h'
 */
export function queryGranularity(text: string): Granularity | undefined {
  if (text === 'raw' || text === MONTHS || Object.hasOwn(GRANULARITIES, text)) return text as Granularity;
  return Object.hasOwn(GRANULARITY_NAMES, text) ? GRANULARITY_NAMES[text] : undefined;
}

/**
 * The start of the query bin that holds `time`: the UTC calendar month for `1mo`, else `time` floored to a
 * multiple of `binMs` since the UTC epoch.
 *
 * @example
 * queryBinStart({ granularity: '1mo', binMs: 0 }, Date.parse('2012-07-31T12:23:52Z')); // Date.parse('2012-07-01T00:00:00Z')
 */
export function queryBinStart(q: { granularity: string; binMs: number }, time: number): number {
  if (q.granularity === MONTHS) {
    const d = new Date(time);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  return Math.floor(time / q.binMs) * q.binMs;
}

/** The end (exclusive) of the query bin that starts at `start`. */
export function queryBinEnd(q: { granularity: string; binMs: number }, start: number): number {
  if (q.granularity === MONTHS) {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return start + q.binMs;
}

export const DOWNSAMPLERS = ['mean', 'min', 'max', 'sum', 'count', 'first', 'last', 'stddev'] as const;
export type Downsampler = (typeof DOWNSAMPLERS)[number];
/**
 * What a query may ask for beyond a stream's stored downsamplers: `trend` (the least-squares slope per second
 * and its r²) and percentiles. A stream's default query and named aggregations keep to `DOWNSAMPLERS`.
 */
export const QUERY_DOWNSAMPLERS = [...DOWNSAMPLERS, 'trend', 'p50', 'p90', 'p95', 'p99'] as const;
export type QueryDownsampler = (typeof QUERY_DOWNSAMPLERS)[number];
export type Percentile = Extract<QueryDownsampler, `p${number}`>;
/** Each percentile downsampler's fraction. */
export const PERCENTILES: Readonly<Record<Percentile, number>> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };
/**
 * Whether a query downsampler is a percentile.
 *
 * @example
 * isPercentile('p95'); // true
 */
export const isPercentile = (d: QueryDownsampler): d is Percentile => Object.hasOwn(PERCENTILES, d);
/** Downsamplers that need a numeric field; the others apply to any field. */
export const NUMERIC_DOWNSAMPLERS: ReadonlySet<QueryDownsampler> = new Set(['mean', 'sum', 'stddev', 'min', 'max', 'trend', 'p50', 'p90', 'p95', 'p99']);

const BIN = Object.keys(GRANULARITIES) as [keyof typeof GRANULARITIES, ...(keyof typeof GRANULARITIES)[]];

/** A stream's default query: its bin and downsamplers. */
export const DefaultQuerySchema = z.strictObject({
  granularity: z.enum(BIN),
  downsamplers: z.array(z.enum(DOWNSAMPLERS)).min(1).max(DOWNSAMPLERS.length),
});
export type DefaultQuery = z.output<typeof DefaultQuerySchema>;

/**
 * A named aggregation of a stream (the document's processor `aggregations`): `GET …/data?aggregation=NAME`
 * answers its fields per its bin with its downsamplers.
 */
export const NamedAggregationSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 of letters, digits, _ and -, starting with a letter'),
  granularity: z.enum(BIN),
  fields: z.array(z.string().min(1).max(60)).min(1).max(256),
  downsamplers: z.array(z.enum(DOWNSAMPLERS)).min(1).max(DOWNSAMPLERS.length),
});
export type NamedAggregation = z.output<typeof NamedAggregationSchema>;
export const NamedAggregationsSchema = z.array(NamedAggregationSchema).max(32);

/**
 * Whether `text` names a bin of `GRANULARITIES` (own keys only, so `constructor` is not one).
 *
 * @example
 * isGranularity('1h'); // true
 */
export function isGranularity(text: string): text is keyof typeof GRANULARITIES {
  return Object.hasOwn(GRANULARITIES, text);
}
