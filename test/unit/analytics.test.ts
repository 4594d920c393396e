import { describe, expect, it } from 'vitest';
import { analyze, AnalyzeRequestSchema, checkAnalyses, type SeriesPoint } from '../../shared/domain/analytics';
import { BadRequestError } from '../../shared/domain/errors';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const series = (n: number, f: (i: number) => Record<string, number>, stepMs = HOUR): SeriesPoint[] => Array.from({ length: n }, (_, i) => ({ time: T0 + i * stepMs, values: f(i) }));

describe('analyze', () => {
  it('fits y = 2x + 1 (x in hours) with slope 2 per hour, intercept 1 and r² 1', () => {
    const [t] = analyze(series(48, (i) => ({ y: 2 * i + 1 })), [{ type: 'trend_analysis', field: 'y', algorithm: 'linear_regression' }]).trends;
    expect(t).toMatchObject({ field: 'y', direction: 'increasing', points: 48 });
    expect(t!.slopePerHour).toBeCloseTo(2, 12);
    expect(t!.slopePerDay).toBeCloseTo(48, 10);
    expect(t!.intercept).toBeCloseTo(1, 10);
    expect(t!.r2).toBeCloseTo(1, 12);
  });

  it('correlates y = 2x with x at 1.0, -x at -1.0, by Pearson and by rank', () => {
    const pts = series(30, (i) => ({ x: i, y: 2 * i, z: -i, w: i ** 3 }));
    const pearson = analyze(pts, [{ type: 'correlation_analysis', fields: ['x', 'y', 'z'], method: 'pearson' }]).correlations;
    expect(pearson.map((c) => [c.fields, Number(c.coefficient.toFixed(12))])).toEqual([[['x', 'y'], 1], [['x', 'z'], -1], [['y', 'z'], -1]]);
    // a monotone but not linear relation: rank correlation 1, Pearson below it
    const [rank] = analyze(pts, [{ type: 'correlation_analysis', fields: ['x', 'w'], method: 'spearman' }]).correlations;
    expect(rank!.coefficient).toBeCloseTo(1, 12);
    expect(analyze(pts, [{ type: 'correlation_analysis', fields: ['x', 'w'], method: 'pearson' }]).correlations[0]!.coefficient).toBeLessThan(0.95);
  });

  it('flags exactly the one 5σ spike on a sine', () => {
    const sine = series(500, (i) => ({ v: Math.sin((2 * Math.PI * i) / 50) }), 60_000);
    const sigma = Math.SQRT1_2; // the standard deviation of a unit sine
    sine[321]!.values.v = 5 * sigma;
    const [a] = analyze(sine, [{ type: 'anomaly_detection', fields: ['v'], sensitivity: 0.5, method: 'modified_zscore' }]).anomalies;
    expect(a!.anomalies.map((x) => x.time)).toEqual([new Date(T0 + 321 * 60_000).toISOString()]);
    // the most sensitive setting still leaves the sine's own peaks alone
    expect(analyze(sine, [{ type: 'anomaly_detection', field: 'v', sensitivity: 1, method: 'modified_zscore' }]).anomalies[0]!.anomalies).toHaveLength(1);
  });

  it('forecasts a clean trend on along its line, each value inside its interval', () => {
    const pts = series(72, (i) => ({ y: 10 + 0.5 * i + Math.sin(i) * 0.01 }));
    const [f] = analyze(pts, [{ type: 'forecasting', field: 'y', horizon: '6h', model: 'holt' }]).forecast;
    expect(f!.stepMs).toBe(HOUR);
    expect(f!.points).toHaveLength(6);
    f!.points.forEach((p, k) => {
      const truth = 10 + 0.5 * (72 + k);
      expect(p.value).toBeCloseTo(truth, 0);
      expect(p.lower).toBeLessThanOrEqual(truth);
      expect(p.upper).toBeGreaterThanOrEqual(truth);
      expect(p.time).toBe(new Date(T0 + (72 + k) * HOUR).toISOString());
    });
  });
});

describe('the analyze request', () => {
  it('reads the Data Streams document’s example, with Holt for its ARIMA', () => {
    const body = {
      timeRange: { start: '2024-01-01T00:00:00Z', end: '2024-01-31T23:59:59Z' },
      analyses: [
        { type: 'trend_analysis', field: 'temperature', algorithm: 'linear_regression' },
        { type: 'anomaly_detection', fields: ['temperature', 'humidity'], sensitivity: 0.8 },
        { type: 'correlation_analysis', fields: ['temperature', 'humidity', 'co2'], method: 'pearson' },
        { type: 'forecasting', field: 'temperature', horizon: '7d', model: 'holt' },
      ],
    };
    expect(checkAnalyses(AnalyzeRequestSchema.parse(body).analyses, ['temperature'])).toHaveLength(4);
  });

  it('refuses the document’s ARIMA and its word-only analyses by path, saying what it computes instead', () => {
    const parsed = AnalyzeRequestSchema.parse({ timeRange: '1d', analyses: ['energy_efficiency', { type: 'forecasting', field: 't', horizon: '7d', model: 'arima' }] });
    try {
      checkAnalyses(parsed.analyses, ['t']);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).issues).toEqual([
        { path: ['analyses', 0], message: expect.stringContaining("'energy_efficiency' is not an analysis") },
        { path: ['analyses', 1, 'model'], message: expect.stringContaining("give model 'holt'") },
      ]);
    }
  });
});
