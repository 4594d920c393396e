import { linearRegression, mean as meanOf, median, medianAbsoluteDeviation, standardDeviation } from 'simple-statistics';
import * as z from 'zod';
import { fieldCorrelations, pairs, correlate, type CorrelationResult } from './analytics/correlation';
import { forecastHolt, forecastHoltWinters, type ForecastResult } from './analytics/forecast';
import { patternOf, type PatternResult, type PatternType } from './analytics/patterns';
import { column, iso, type SeriesPoint } from './analytics/series';
import { parseDuration } from './durations';
import { BadRequestError } from './errors';

/**
 * The Data Streams document's `streams.analyze`: trend, anomaly, correlation, forecast and usage-pattern
 * analyses over one series of points (a stream's raw points of one series, or the means of a downsampled
 * query), computed from the points the store returns, so every store answers the same. The numerics are
 * simple-statistics' (regression, correlation, median, MAD) but for the t distribution's tail
 * (`analytics/t-distribution.ts`) and the smoothing forecasts (`analytics/forecast.ts`).
 *
 * @example
 * analyze(points, [{ type: 'trend_analysis', field: 'temperature', algorithm: 'linear_regression' }]);
 */

export type { CorrelationResult } from './analytics/correlation';
export type { ForecastResult } from './analytics/forecast';
export type { PatternResult } from './analytics/patterns';
export type { SeriesPoint } from './analytics/series';

const Field = z.string().min(1).max(60);
const StreamId = z.string().min(1).max(128);
const Duration = z.string().refine((h) => parseDuration(h) !== undefined, 'must be a duration such as 30m, 6h or 7d');

const Trend = z.strictObject({ type: z.literal('trend_analysis'), field: Field, algorithm: z.literal('linear_regression').default('linear_regression') });
const Anomaly = z.strictObject({
  type: z.literal('anomaly_detection'),
  field: Field.optional(),
  fields: z.array(Field).min(1).max(16).optional(),
  /** 0 (flag only the most extreme) to 1 (flag more): the score threshold is 5 - 3.5 × sensitivity unless `threshold` is given. */
  sensitivity: z.number().min(0).max(1).default(0.5),
  threshold: z.number().positive().max(1e6).optional(),
  /** `mad` (= `modified_zscore`): 0.6745 |x − median| / MAD; `zscore`: |x − mean| / sample standard deviation. */
  method: z.enum(['modified_zscore', 'mad', 'zscore']).default('modified_zscore'),
});
/**
 * Between fields of this stream (`fields`, two or more), or between two streams (`streams: [a, b]`, one field
 * each: `fields: [fa, fb]`, or one field for both) aligned on `granularity` bins (1h unless given).
 */
const Correlation = z
  .strictObject({
    type: z.literal('correlation_analysis'),
    fields: z.array(Field).min(1).max(16),
    method: z.enum(['pearson', 'spearman']).default('pearson'),
    streams: z.tuple([StreamId, StreamId]).optional(),
    granularity: z.string().min(1).max(10).optional(),
  })
  .refine((c) => (c.streams ? c.fields.length <= 2 : c.fields.length >= 2), { message: 'give two or more fields of this stream, or streams: [a, b] with one or two fields', path: ['fields'] });
const Forecast = z.strictObject({
  type: z.literal('forecasting'),
  field: Field,
  horizon: Duration,
  model: z.enum(['holt', 'holt_winters', 'arima']).default('holt'),
  /** holt_winters: the season in points, or as a duration (`1d` of hourly points: 24); detected when neither is given. */
  seasonLength: z.number().int().min(2).max(10_000).optional(),
  season: Duration.optional(),
});
const Pattern = z.strictObject({ type: z.enum(['peak_hours', 'daily_pattern', 'weekly_pattern']), field: Field, top: z.number().int().min(1).max(24).default(3) });

export const AnalysisSchema = z.discriminatedUnion('type', [Trend, Anomaly, Correlation, Forecast, Pattern]);
export type Analysis = z.output<typeof AnalysisSchema>;

/** The `analyze` body: a time range (or the documents' relative one), an optional series and bin, the analyses. */
export const AnalyzeRequestSchema = z.strictObject({
  timeRange: z.union([z.strictObject({ start: z.string(), end: z.string().optional() }), z.string().min(1).max(40)]),
  /** One series: dimension → value. */
  dimensions: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Analyse the means per bin (`1m`, `1h`, …) of every series instead of the raw points of one. */
  granularity: z.string().optional(),
  analyses: z.array(z.union([AnalysisSchema, z.string().min(1).max(60)])).min(1).max(20),
});
export type AnalyzeRequest = z.output<typeof AnalyzeRequestSchema>;

export interface TrendResult {
  field: string;
  algorithm: 'linear_regression';
  /** Change per hour and per day; `intercept` is the fitted value at the range's first point. */
  slopePerHour: number;
  slopePerDay: number;
  intercept: number;
  r2: number;
  direction: 'increasing' | 'decreasing' | 'flat';
  points: number;
}
export interface AnomalyResult {
  field: string;
  method: 'modified_zscore' | 'mad' | 'zscore';
  threshold: number;
  /** The centre the scores are measured from: the median (mad), the mean (zscore). */
  median: number;
  center: number;
  anomalies: { time: string; value: number; score: number }[];
  points: number;
}

export interface AnalyzeResult {
  trends: TrendResult[];
  anomalies: AnomalyResult[];
  correlations: CorrelationResult[];
  forecast: ForecastResult[];
  patterns: PatternResult[];
}

/** A cross-stream correlation's read: a stream's field as means per bin. */
export interface StreamRead {
  streamId: string;
  field: string;
  granularity: string;
}

export const DEFAULT_CORRELATION_GRANULARITY = '1h';

/** Where `analyze` finds a stream's binned means (`streamReadKey`). */
export const streamReadKey = (r: StreamRead) => `${r.streamId}|${r.field}|${r.granularity}`;

/**
 * The reads cross-stream correlations need beyond the request's own points: each stream's field as means per bin.
 *
 * @example
 * streamReads([{ type: 'correlation_analysis', streams: ['indoor', 'outdoor'], fields: ['temperature'], method: 'pearson' }]);
 * // [{ streamId: 'indoor', field: 'temperature', granularity: '1h' }, { streamId: 'outdoor', field: 'temperature', granularity: '1h' }]
 */
export function streamReads(analyses: readonly Analysis[]): StreamRead[] {
  const out = new Map<string, StreamRead>();
  for (const a of analyses) {
    if (a.type !== 'correlation_analysis' || !a.streams) continue;
    const granularity = a.granularity ?? DEFAULT_CORRELATION_GRANULARITY;
    a.streams.forEach((streamId, i) => {
      const read = { streamId, field: a.fields[Math.min(i, a.fields.length - 1)]!, granularity };
      out.set(streamReadKey(read), read);
    });
  }
  return [...out.values()];
}

/** The fields each analysis reads of the request's own stream, for the query that fetches the points. */
export function analysisFields(analyses: readonly Analysis[]): string[] {
  const fields = new Set<string>();
  for (const a of analyses) {
    if (a.type === 'correlation_analysis' && a.streams) continue;
    if ('field' in a && a.field !== undefined) fields.add(a.field);
    if ('fields' in a && a.fields !== undefined) for (const f of a.fields) fields.add(f);
  }
  return [...fields];
}

/** The documents' named analyses Tributary computes, as words: each of the stream's numeric fields gets them. */
const NAMED: Record<string, PatternType[]> = { peak_hours: ['peak_hours'], usage_patterns: ['daily_pattern', 'weekly_pattern'], daily_pattern: ['daily_pattern'], weekly_pattern: ['weekly_pattern'] };

/**
 * The analyses as objects: the documents' words for usage patterns (`"peak_hours"`, `"usage_patterns"`) become
 * those analyses of each of `numericFields`; other words (`"energy_efficiency"`) are domain scores Tributary
 * cannot know how to compute: a 400 names them and lists what it does compute.
 *
 * @example
 * checkAnalyses(['peak_hours'], ['occupantCount']); // [{ type: 'peak_hours', field: 'occupantCount', top: 3 }]
 */
export function checkAnalyses(analyses: readonly (Analysis | string)[], numericFields: readonly string[]): Analysis[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const out: Analysis[] = [];
  analyses.forEach((a, i) => {
    if (typeof a === 'string') {
      const types = Object.hasOwn(NAMED, a) ? NAMED[a]! : undefined;
      if (!types) {
        issues.push({ path: ['analyses', i], message: `'${a}' is not an analysis Tributary computes; give peak_hours, usage_patterns, daily_pattern, weekly_pattern or {type: trend_analysis | anomaly_detection | correlation_analysis | forecasting | peak_hours | daily_pattern | weekly_pattern, …}` });
      } else if (numericFields.length === 0) {
        issues.push({ path: ['analyses', i], message: `'${a}' needs a number or integer field; the stream has none` });
      } else {
        for (const type of types) for (const field of numericFields) out.push({ type, field, top: 3 });
      }
      return;
    }
    if (a.type === 'anomaly_detection' && !a.field && !a.fields) issues.push({ path: ['analyses', i], message: 'give field or fields' });
    else if (a.type === 'forecasting' && a.model === 'arima') {
      issues.push({ path: ['analyses', i, 'model'], message: "ARIMA is not a model Tributary fits; give model 'holt' (Holt's linear trend) or 'holt_winters' (additive seasonality), each with a 95 % interval" });
    }
    out.push(a);
  });
  if (issues.length > 0) throw new BadRequestError('Invalid analysis request.', issues);
  return out;
}

const HOUR = 3_600_000;

function trend(points: readonly SeriesPoint[], field: string): TrendResult {
  const { t, y } = column(points, field);
  if (y.length < 2) throw new BadRequestError('Invalid analysis request.', [{ path: ['analyses'], message: `trend_analysis of '${field}' needs at least 2 points in the range; it has ${y.length}` }]);
  const t0 = t[0]!;
  const xy = t.map((ti, i) => [(ti - t0) / HOUR, y[i]!] as [number, number]);
  const { m, b } = linearRegression(xy);
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  let ssRes = 0;
  let ssTot = 0;
  for (const [x, v] of xy) {
    ssRes += (v - (m * x + b)) ** 2;
    ssTot += (v - mean) ** 2;
  }
  const r2 = ssTot === 0 ? 1 : 1 - ssRes / ssTot;
  const flat = Math.abs(m) < 1e-12 * Math.max(1, Math.abs(mean));
  return { field, algorithm: 'linear_regression', slopePerHour: m, slopePerDay: m * 24, intercept: b, r2, direction: flat ? 'flat' : m > 0 ? 'increasing' : 'decreasing', points: y.length };
}

function anomalies(points: readonly SeriesPoint[], field: string, a: Extract<Analysis, { type: 'anomaly_detection' }>): AnomalyResult {
  const { t, y } = column(points, field);
  const threshold = a.threshold ?? 5 - 3.5 * a.sensitivity;
  const method = a.method;
  if (y.length < 3) {
    const center = y.length ? median(y) : 0;
    return { field, method, threshold, median: center, center, anomalies: [], points: y.length };
  }
  const med = median(y);
  let center = med;
  let scale: number;
  if (method === 'zscore') {
    center = meanOf(y);
    scale = standardDeviation(y) * Math.sqrt(y.length / (y.length - 1));
  } else {
    // a MAD of 0 (most values equal) falls back to the mean absolute deviation, as Iglewicz and Hoaglin do
    const mad = medianAbsoluteDeviation(y);
    scale = mad > 0 ? mad / 0.6745 : y.reduce((s, v) => s + Math.abs(v - med), 0) / y.length / 0.7979;
  }
  const found = scale === 0 ? [] : y.flatMap((v, i) => {
    const score = Math.abs(v - center) / scale;
    return score > threshold ? [{ time: iso(t[i]!), value: v, score }] : [];
  });
  return { field, method, threshold, median: med, center, anomalies: found, points: y.length };
}

/** A cross-stream correlation over the two streams' binned means (`binned`, by `streamReadKey`). */
function streamCorrelation(a: Extract<Analysis, { type: 'correlation_analysis' }>, binned: ReadonlyMap<string, readonly SeriesPoint[]>): CorrelationResult {
  const reads = streamReads([a]);
  const ra = reads[0]!;
  const rb = reads[1] ?? ra;
  const [xs, ys] = pairs(binned.get(streamReadKey(ra)) ?? [], ra.field, binned.get(streamReadKey(rb)) ?? [], rb.field, true);
  const r = correlate(xs, ys, a.method);
  return { fields: [`${ra.streamId}.${ra.field}`, `${rb.streamId}.${rb.field}`], method: a.method, ...r, points: r.n, streams: [ra.streamId, rb.streamId], granularity: ra.granularity };
}

/**
 * Runs the analyses over the points (in time order); cross-stream correlations read `binned`, each stream's
 * means per bin by `streamReadKey`.
 *
 * @example
 * analyze(points, [{ type: 'trend_analysis', field: 'temperature', algorithm: 'linear_regression' }]);
 * // { trends: [{ field: 'temperature', slopePerHour: 0.2, r2: 0.97, … }], anomalies: [], correlations: [], forecast: [], patterns: [] }
 */
export function analyze(points: readonly SeriesPoint[], analyses: readonly Analysis[], binned: ReadonlyMap<string, readonly SeriesPoint[]> = new Map()): AnalyzeResult {
  const result: AnalyzeResult = { trends: [], anomalies: [], correlations: [], forecast: [], patterns: [] };
  for (const a of analyses) {
    switch (a.type) {
      case 'trend_analysis':
        result.trends.push(trend(points, a.field));
        break;
      case 'anomaly_detection':
        for (const f of a.fields ?? (a.field ? [a.field] : [])) result.anomalies.push(anomalies(points, f, a));
        break;
      case 'correlation_analysis':
        if (a.streams) result.correlations.push(streamCorrelation(a, binned));
        else result.correlations.push(...fieldCorrelations(points, a.fields, a.method));
        break;
      case 'forecasting': {
        const horizon = parseDuration(a.horizon)!;
        result.forecast.push(a.model === 'holt_winters' ? forecastHoltWinters(points, a.field, horizon, { seasonLength: a.seasonLength, seasonMs: a.season ? parseDuration(a.season) : undefined }) : forecastHolt(points, a.field, horizon));
        break;
      }
      default:
        result.patterns.push(patternOf(points, a.field, a.type, a.top));
    }
  }
  return result;
}
