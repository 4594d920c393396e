import { median, standardDeviation } from 'simple-statistics';
import { BadRequestError } from '../errors';
import { column, iso, type SeriesPoint } from './series';

/**
 * Forecasts with 95 % prediction intervals over a horizon: Holt's linear trend (double exponential smoothing),
 * and Holt-Winters with additive seasonality, its season given in points (or as a duration over the series'
 * step) or detected from the autocorrelation of the detrended series (`detectSeason`). Smoothing parameters
 * are chosen on a grid by the least squared one-step error; the interval of step h is ±1.96 σ √(1 + Σ_{j<h} c_j²)
 * with c_j = α(1 + jβ) + γ·[j ≡ 0 mod m] (Hyndman et al., the additive Holt-Winters' class 1 variance).
 *
 * @example
 * forecastHoltWinters(points, 'load', 6 * 3_600_000, { seasonLength: 24 }); // { model: 'holt_winters', seasonLength: 24, points: [{ time, value, lower, upper }, …] }
 */

export interface ForecastPoint {
  time: string;
  value: number;
  lower: number;
  upper: number;
}
export interface ForecastResult {
  field: string;
  model: 'holt' | 'holt_winters';
  alpha: number;
  beta: number;
  gamma?: number;
  /** Holt-Winters: the season in points, and whether it was detected (not given). */
  seasonLength?: number;
  seasonDetected?: boolean;
  stepMs: number;
  /** The prediction intervals' level. */
  level: 0.95;
  points: ForecastPoint[];
}

const Z95 = 1.959963984540054;
/** Steps a forecast gives at most. */
export const MAX_FORECAST_STEPS = 1_000;
const GRID = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];

const refuse = (message: string) => new BadRequestError('Invalid analysis request.', [{ path: ['analyses'], message }]);

function stepOf(field: string, t: readonly number[]): number {
  const stepMs = median(t.slice(1).map((ti, i) => ti - t[i]!));
  if (!(stepMs > 0)) throw refuse(`forecasting '${field}' needs points at distinct times`);
  return stepMs;
}

const horizonSteps = (horizonMs: number, stepMs: number) => Math.max(1, Math.min(MAX_FORECAST_STEPS, Math.round(horizonMs / stepMs)));

/**
 * Holt's linear trend.
 *
 * @example
 * forecastHolt(points, 'temperature', 6 * 3_600_000).points.length; // 6 for hourly points
 */
export function forecastHolt(points: readonly SeriesPoint[], field: string, horizonMs: number): ForecastResult {
  const { t, y } = column(points, field);
  if (y.length < 3) throw refuse(`forecasting '${field}' needs at least 3 points in the range; it has ${y.length}`);
  const stepMs = stepOf(field, t);
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
  const last = t[t.length - 1]!;
  const out = Array.from({ length: horizonSteps(horizonMs, stepMs) }, (_, k) => {
    const h = k + 1;
    const value = best.level + h * best.slope;
    const width = Z95 * sigma * Math.sqrt(h);
    return { time: iso(last + h * stepMs), value, lower: value - width, upper: value + width };
  });
  return { field, model: 'holt', alpha: best.alpha, beta: best.beta, stepMs, level: 0.95, points: out };
}

/**
 * The season length (in points) of a series: the lag up to n/2 with the highest autocorrelation of the series
 * less its least-squares line after that autocorrelation first falls below 0, if it passes 0.3; `undefined` otherwise.
 *
 * @example
 * detectSeason(Array.from({ length: 96 }, (_, i) => Math.sin((2 * Math.PI * i) / 24))); // 24
 */
export function detectSeason(y: readonly number[]): number | undefined {
  const n = y.length;
  const xMean = (n - 1) / 2;
  const yMean = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  y.forEach((v, i) => {
    sxy += (i - xMean) * (v - yMean);
    sxx += (i - xMean) ** 2;
  });
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const r = y.map((v, i) => v - yMean - slope * (i - xMean));
  const variance = r.reduce((s, v) => s + v * v, 0);
  if (variance === 0) return undefined;
  // a smooth series correlates highly at short lags: the season is the highest peak after the first dip below 0
  // (its multiples correlate a little less, the sum running over fewer pairs)
  let best: { lag: number; acf: number } | undefined;
  let dipped = false;
  for (let lag = 1; lag <= Math.floor(n / 2); lag++) {
    let s = 0;
    for (let i = lag; i < n; i++) s += r[i]! * r[i - lag]!;
    const acf = s / variance;
    if (acf < 0) dipped = true;
    else if (dipped && lag >= 2 && (!best || acf > best.acf + 1e-9)) best = { lag, acf };
  }
  return best && best.acf > 0.3 ? best.lag : undefined;
}

interface HwFit {
  alpha: number;
  beta: number;
  gamma: number;
  sse: number;
  level: number;
  trend: number;
  season: number[];
  residuals: number;
}

function fitHoltWinters(y: readonly number[], m: number, alpha: number, beta: number, gamma: number): HwFit {
  const mean = (from: number) => y.slice(from, from + m).reduce((s, v) => s + v, 0) / m;
  // the first season's mean sits at its middle: the level starts at its end, each index less the line through it
  let trend = (mean(m) - mean(0)) / m;
  const middle = (m - 1) / 2;
  let level = mean(0) + trend * middle;
  const season = y.slice(0, m).map((v, i) => v - (mean(0) + trend * (i - middle)));
  let sse = 0;
  for (let i = m; i < y.length; i++) {
    const s = season[i - m]!;
    const e = y[i]! - (level + trend + s);
    sse += e * e;
    const next = alpha * (y[i]! - s) + (1 - alpha) * (level + trend);
    trend = beta * (next - level) + (1 - beta) * trend;
    season.push(gamma * (y[i]! - next) + (1 - gamma) * s);
    level = next;
  }
  return { alpha, beta, gamma, sse, level, trend, season: season.slice(-m), residuals: y.length - m };
}

/**
 * Holt-Winters with additive seasonality of `seasonLength` points (detected when not given).
 *
 * @example
 * forecastHoltWinters(points, 'load', 86_400_000, {}); // season detected from the series
 */
export function forecastHoltWinters(points: readonly SeriesPoint[], field: string, horizonMs: number, season: { seasonLength?: number | undefined; seasonMs?: number | undefined }): ForecastResult {
  const { t, y } = column(points, field);
  if (y.length < 4) throw refuse(`forecasting '${field}' with holt_winters needs at least two seasons of points; it has ${y.length}`);
  const stepMs = stepOf(field, t);
  const given = season.seasonLength ?? (season.seasonMs !== undefined ? Math.round(season.seasonMs / stepMs) : undefined);
  const m = given ?? detectSeason(y);
  if (m === undefined) throw refuse(`no season found in '${field}' (no autocorrelation above 0.3): give seasonLength (points) or season (a duration)`);
  if (m < 2 || y.length < 2 * m) throw refuse(`holt_winters with a season of ${m} points needs at least ${2 * m} points of '${field}'; it has ${y.length}`);
  let best: HwFit | undefined;
  for (const alpha of GRID) for (const beta of GRID) for (const gamma of GRID) {
    const fit = fitHoltWinters(y, m, alpha, beta, gamma);
    if (!best || fit.sse < best.sse) best = fit;
  }
  const fit = best!;
  const sigma = fit.residuals > 0 ? Math.sqrt(fit.sse / fit.residuals) : 0;
  const last = t[t.length - 1]!;
  let variance = 1;
  const out = Array.from({ length: horizonSteps(horizonMs, stepMs) }, (_, k) => {
    const h = k + 1;
    if (h > 1) {
      const j = h - 1;
      const c = fit.alpha * (1 + j * fit.beta) + (j % m === 0 ? fit.gamma : 0);
      variance += c * c;
    }
    const value = fit.level + h * fit.trend + fit.season[(h - 1) % m]!;
    const width = Z95 * sigma * Math.sqrt(variance);
    return { time: iso(last + h * stepMs), value, lower: value - width, upper: value + width };
  });
  return { field, model: 'holt_winters', alpha: fit.alpha, beta: fit.beta, gamma: fit.gamma, seasonLength: m, seasonDetected: given === undefined, stepMs, level: 0.95, points: out };
}
