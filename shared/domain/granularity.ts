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
export type Granularity = 'raw' | keyof typeof GRANULARITIES;

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
