import { linearRegression, median, medianAbsoluteDeviation, sampleCorrelation, sampleRankCorrelation, standardDeviation } from 'simple-statistics';
import * as z from 'zod';
import { parseDuration } from './durations';
import { BadRequestError } from './errors';

/**
 * The Data Streams document's `streams.analyze`: trend, anomaly, correlation and forecast analyses over one
 * series of points (a stream's raw points of one series, or the means of a downsampled query), computed from
 * the points the store returns, so every store answers the same.
 */

const Field = z.string().min(1).max(60);

const Trend = z.strictObject({ type: z.literal('trend_analysis'), field: Field, algorithm: z.literal('linear_regression').default('linear_regression') });
const Anomaly = z.strictObject({
  type: z.literal('anomaly_detection'),
  field: Field.optional(),
  fields: z.array(Field).min(1).max(16).optional(),
  /** 0 (flag only the most extreme) to 1 (flag more): the modified z-score threshold is 5 - 3.5 × sensitivity. */
  sensitivity: z.number().min(0).max(1).default(0.5),
  method: z.literal('modified_zscore').default('modified_zscore'),
});
const Correlation = z.strictObject({ type: z.literal('correlation_analysis'), fields: z.array(Field).min(2).max(16), method: z.enum(['pearson', 'spearman']).default('pearson') });
const Forecast = z.strictObject({
  type: z.literal('forecasting'),
  field: Field,
  horizon: z.string().refine((h) => parseDuration(h) !== undefined, 'must be a duration such as 30m, 6h or 7d'),
  model: z.enum(['holt', 'arima']).default('holt'),
});

export const AnalysisSchema = z.discriminatedUnion('type', [Trend, Anomaly, Correlation, Forecast]);
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

/** One point of the analysed series: epoch ms and its numeric values. */
export interface SeriesPoint {
  time: number;
  values: Record<string, number | undefined>;
}

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
  method: 'modified_zscore';
  threshold: number;
  median: number;
  anomalies: { time: string; value: number; score: number }[];
  points: number;
}
export interface CorrelationResult {
  fields: [string, string];
  method: 'pearson' | 'spearman';
  coefficient: number;
  points: number;
}
export interface ForecastResult {
  field: string;
  model: 'holt';
  alpha: number;
  beta: number;
  stepMs: number;
  points: { time: string; value: number; lower: number; upper: number }[];
}

export interface AnalyzeResult {
  trends: TrendResult[];
  anomalies: AnomalyResult[];
  correlations: CorrelationResult[];
  forecast: ForecastResult[];
}

/** The fields each analysis reads, for the query that fetches the points. */
export function analysisFields(analyses: readonly Analysis[]): string[] {
  const fields = new Set<string>();
  for (const a of analyses) {
    if ('field' in a && a.field !== undefined) fields.add(a.field);
    if ('fields' in a && a.fields !== undefined) for (const f of a.fields) fields.add(f);
  }
  return [...fields];
}

/**
 * The analyses the documents name that are only words (`"energy_efficiency"`, `"peak_hours"`): domain
 * scores Tributary cannot know how to compute; a 400 names them and lists what it does compute.
 */
export function checkAnalyses(analyses: readonly (Analysis | string)[]): Analysis[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  analyses.forEach((a, i) => {
    if (typeof a === 'string') issues.push({ path: ['analyses', i], message: `'${a}' is not an analysis Tributary computes; give {type: trend_analysis | anomaly_detection | correlation_analysis | forecasting, …}` });
    else if (a.type === 'anomaly_detection' && !a.field && !a.fields) issues.push({ path: ['analyses', i], message: 'give field or fields' });
    else if (a.type === 'forecasting' && a.model === 'arima') issues.push({ path: ['analyses', i, 'model'], message: "ARIMA is not a model Tributary fits; give model 'holt' (Holt's linear trend, with a 95 % interval)" });
  });
  if (issues.length > 0) throw new BadRequestError('Invalid analysis request.', issues);
  return analyses as Analysis[];
}

const HOUR = 3_600_000;
const iso = (t: number) => new Date(t).toISOString();

function column(points: readonly SeriesPoint[], field: string): { t: number[]; y: number[] } {
  const t: number[] = [];
  const y: number[] = [];
  for (const p of points) {
    const v = p.values[field];
    if (typeof v === 'number' && Number.isFinite(v)) {
      t.push(p.time);
      y.push(v);
    }
  }
  return { t, y };
}

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

function anomalies(points: readonly SeriesPoint[], field: string, sensitivity: number): AnomalyResult {
  const { t, y } = column(points, field);
  const threshold = 5 - 3.5 * sensitivity;
  if (y.length < 3) return { field, method: 'modified_zscore', threshold, median: y.length ? median(y) : 0, anomalies: [], points: y.length };
  const med = median(y);
  // a MAD of 0 (most values equal) falls back to the mean absolute deviation, as Iglewicz and Hoaglin do
  const mad = medianAbsoluteDeviation(y);
  const scale = mad > 0 ? mad / 0.6745 : y.reduce((s, v) => s + Math.abs(v - med), 0) / y.length / 0.7979;
  const found = scale === 0 ? [] : y.flatMap((v, i) => {
    const score = Math.abs(v - med) / scale;
    return score > threshold ? [{ time: iso(t[i]!), value: v, score }] : [];
  });
  return { field, method: 'modified_zscore', threshold, median: med, anomalies: found, points: y.length };
}

function correlations(points: readonly SeriesPoint[], fields: readonly string[], method: 'pearson' | 'spearman'): CorrelationResult[] {
  const out: CorrelationResult[] = [];
  for (let i = 0; i < fields.length; i++) {
    for (let j = i + 1; j < fields.length; j++) {
      const a: number[] = [];
      const b: number[] = [];
      for (const p of points) {
        const x = p.values[fields[i]!];
        const y = p.values[fields[j]!];
        if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y)) {
          a.push(x);
          b.push(y);
        }
      }
      const coefficient = a.length < 2 ? Number.NaN : method === 'pearson' ? sampleCorrelation(a, b) : sampleRankCorrelation(a, b);
      out.push({ fields: [fields[i]!, fields[j]!], method, coefficient: Number.isFinite(coefficient) ? coefficient : 0, points: a.length });
    }
  }
  return out;
}

/** Holt's linear trend (double exponential smoothing), alpha and beta chosen by the least squared one-step error. */
function forecast(points: readonly SeriesPoint[], field: string, horizonMs: number): ForecastResult {
  const { t, y } = column(points, field);
  if (y.length < 3) throw new BadRequestError('Invalid analysis request.', [{ path: ['analyses'], message: `forecasting '${field}' needs at least 3 points in the range; it has ${y.length}` }]);
  const steps = t.slice(1).map((ti, i) => ti - t[i]!);
  const stepMs = median(steps);
  if (!(stepMs > 0)) throw new BadRequestError('Invalid analysis request.', [{ path: ['analyses'], message: `forecasting '${field}' needs points at distinct times` }]);
  let best = { alpha: 0.5, beta: 0.1, sse: Number.POSITIVE_INFINITY, level: 0, slope: 0, residuals: [] as number[] };
  for (let ai = 1; ai <= 9; ai++) {
    for (let bi = 1; bi <= 9; bi++) {
      const alpha = ai / 10;
      const beta = bi / 10;
      let level = y[0]!;
      let slope = y[1]! - y[0]!;
      let sse = 0;
      const residuals: number[] = [];
      for (let i = 1; i < y.length; i++) {
        const predicted = level + slope;
        const e = y[i]! - predicted;
        residuals.push(e);
        sse += e * e;
        const next = alpha * y[i]! + (1 - alpha) * predicted;
        slope = beta * (next - level) + (1 - beta) * slope;
        level = next;
      }
      if (sse < best.sse) best = { alpha, beta, sse, level, slope, residuals };
    }
  }
  const sigma = best.residuals.length > 1 ? standardDeviation(best.residuals) : 0;
  const n = Math.max(1, Math.min(1_000, Math.round(horizonMs / stepMs)));
  const last = t[t.length - 1]!;
  const out = Array.from({ length: n }, (_, k) => {
    const h = k + 1;
    const value = best.level + h * best.slope;
    const width = 1.96 * sigma * Math.sqrt(h);
    return { time: iso(last + h * stepMs), value, lower: value - width, upper: value + width };
  });
  return { field, model: 'holt', alpha: best.alpha, beta: best.beta, stepMs, points: out };
}

/**
 * Runs the analyses over the points (in time order).
 *
 * @example
 * analyze(points, [{ type: 'trend_analysis', field: 'temperature', algorithm: 'linear_regression' }]);
 * // { trends: [{ field: 'temperature', slopePerHour: 0.2, r2: 0.97, … }], anomalies: [], correlations: [], forecast: [] }
 */
export function analyze(points: readonly SeriesPoint[], analyses: readonly Analysis[]): AnalyzeResult {
  const result: AnalyzeResult = { trends: [], anomalies: [], correlations: [], forecast: [] };
  for (const a of analyses) {
    switch (a.type) {
      case 'trend_analysis':
        result.trends.push(trend(points, a.field));
        break;
      case 'anomaly_detection':
        for (const f of a.fields ?? (a.field ? [a.field] : [])) result.anomalies.push(anomalies(points, f, a.sensitivity));
        break;
      case 'correlation_analysis':
        result.correlations.push(...correlations(points, a.fields, a.method));
        break;
      case 'forecasting':
        result.forecast.push(forecast(points, a.field, parseDuration(a.horizon)!));
        break;
    }
  }
  return result;
}
