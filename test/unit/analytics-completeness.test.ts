import { describe, expect, it } from 'vitest';
import { analyze, checkAnalyses, streamReadKey, streamReads, type SeriesPoint } from '../../shared/domain/analytics';
import { BadRequestError } from '../../shared/domain/errors';
import { correlate } from '../../shared/domain/analytics/correlation';
import { detectSeason } from '../../shared/domain/analytics/forecast';
import { incompleteBeta, twoSidedTailT } from '../../shared/domain/analytics/t-distribution';

const T0 = Date.parse('2026-01-05T00:00:00Z'); // a Monday
const HOUR = 3_600_000;
const series = (n: number, f: (i: number) => Record<string, number>, stepMs = HOUR): SeriesPoint[] => Array.from({ length: n }, (_, i) => ({ time: T0 + i * stepMs, values: f(i) }));
/** A deterministic uniform noise in [-1, 1) (a linear congruential generator). */
function noise(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return (s / 2_147_483_648) * 2 - 1;
  };
}

describe("Student's t tail", () => {
  it('matches its closed forms for 1 and 2 degrees of freedom and a tabled value for 10', () => {
    for (const t of [0.5, 1, 2, 5]) {
      expect(twoSidedTailT(t, 1)).toBeCloseTo(1 - (2 * Math.atan(t)) / Math.PI, 10);
      expect(twoSidedTailT(t, 2)).toBeCloseTo(1 - t / Math.sqrt(2 + t * t), 10);
    }
    expect(twoSidedTailT(2.228, 10)).toBeCloseTo(0.05, 3);
    expect(twoSidedTailT(0, 7)).toBeCloseTo(1, 12);
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
  });
});

describe('correlation with n and a p-value', () => {
  it('gives y = 2x a coefficient of 1 and p 0, a noisy pair the t tail of its t statistic, and fewer than 3 pairs none', () => {
    const exact = correlate([1, 2, 3, 4, 5], [2, 4, 6, 8, 10], 'pearson');
    expect(exact.coefficient).toBeCloseTo(1, 12);
    expect(exact).toMatchObject({ n: 5, pValue: 0 });
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const r = correlate(x, x.map((v, i) => v + [6, -6][i % 2]! * 1.0), 'pearson');
    const t = r.coefficient * Math.sqrt(10 / (1 - r.coefficient ** 2));
    expect(r.pValue).toBeCloseTo(twoSidedTailT(t, 10), 12);
    expect(correlate([1, 2], [2, 1], 'pearson').pValue).toBeNull();
    const [c] = analyze(series(30, (i) => ({ x: i, y: 2 * i })), [{ type: 'correlation_analysis', fields: ['x', 'y'], method: 'pearson' }]).correlations;
    expect(c!.coefficient).toBeCloseTo(1, 12);
    expect(c).toMatchObject({ n: 30, pValue: 0, points: 30 });
  });

  it('correlates two streams on the bins both have, naming each stream’s field', () => {
    const analyses = checkAnalyses([{ type: 'correlation_analysis', streams: ['indoor', 'outdoor'], fields: ['temperature'], method: 'pearson' }], ['temperature']);
    const reads = streamReads(analyses);
    expect(reads).toEqual([{ streamId: 'indoor', field: 'temperature', granularity: '1h' }, { streamId: 'outdoor', field: 'temperature', granularity: '1h' }]);
    const indoor = series(10, (i) => ({ temperature: i }));
    // outdoor lacks the first two bins and has one more: 8 bins in common, outdoor = 2 × indoor
    const outdoor = series(11, (i) => ({ temperature: 2 * i })).slice(2);
    const binned = new Map([[streamReadKey(reads[0]!), indoor], [streamReadKey(reads[1]!), outdoor]]);
    const [c] = analyze([], analyses, binned).correlations;
    expect(c).toEqual({ fields: ['indoor.temperature', 'outdoor.temperature'], streams: ['indoor', 'outdoor'], granularity: '1h', method: 'pearson', coefficient: expect.closeTo(1, 12), n: 8, pValue: 0, points: 8 });
  });
});

describe('Holt-Winters forecasts', () => {
  const period = 24;
  const make = (n: number) => {
    const r = noise(42);
    return series(n, (i) => ({ load: 100 + 0.2 * i + 10 * Math.sin((2 * Math.PI * i) / period) + 0.3 * r() }));
  };

  it('detect the season of a clean seasonal series', () => {
    expect(detectSeason(make(24 * 8).map((p) => p.values.load!))).toBe(24);
    expect(detectSeason(Array.from({ length: 50 }, (_, i) => i))).toBeUndefined();
  });

  it('keep a clean seasonal series’ next two seasons within their 95 % interval, and near it', () => {
    const all = make(24 * 10);
    const history = all.slice(0, 24 * 8);
    const [f] = analyze(history, [{ type: 'forecasting', field: 'load', horizon: '48h', model: 'holt_winters' }]).forecast;
    expect(f).toMatchObject({ model: 'holt_winters', seasonLength: 24, seasonDetected: true, stepMs: HOUR, level: 0.95 });
    expect(f!.points).toHaveLength(48);
    f!.points.forEach((p, k) => {
      const actual = all[24 * 8 + k]!.values.load!;
      expect(p.time).toBe(new Date(all[24 * 8 + k]!.time).toISOString());
      expect(actual).toBeGreaterThanOrEqual(p.lower);
      expect(actual).toBeLessThanOrEqual(p.upper);
      expect(Math.abs(p.value - actual)).toBeLessThan(1.5);
    });
    // the interval widens with the horizon
    expect(f!.points[47]!.upper - f!.points[47]!.lower).toBeGreaterThan(f!.points[0]!.upper - f!.points[0]!.lower);
  });

  it('take a season given as a duration, and refuse a series shorter than two seasons', () => {
    const [f] = analyze(make(24 * 4), [{ type: 'forecasting', field: 'load', horizon: '6h', model: 'holt_winters', season: '1d' }]).forecast;
    expect(f).toMatchObject({ seasonLength: 24, seasonDetected: false });
    const refused = (() => {
      try {
        analyze(make(30), [{ type: 'forecasting', field: 'load', horizon: '6h', model: 'holt_winters', seasonLength: 24 }]);
      } catch (err) {
        return (err as BadRequestError).issues;
      }
    })();
    expect(refused).toEqual([{ path: ['analyses'], message: expect.stringContaining('needs at least 48 points') }]);
  });
});

describe('anomaly methods and usage patterns', () => {
  it('flags exactly the 5σ spike on a sine by z-score and by MAD, naming the method', () => {
    const sine = series(500, (i) => ({ v: Math.sin((2 * Math.PI * i) / 50) }), 60_000);
    sine[321]!.values.v = 5 * Math.SQRT1_2;
    const [z, m] = analyze(sine, [
      { type: 'anomaly_detection', field: 'v', sensitivity: 0.5, method: 'zscore', threshold: 3 },
      { type: 'anomaly_detection', field: 'v', sensitivity: 0.5, method: 'mad', threshold: 3 },
    ]).anomalies;
    expect(z!.method).toBe('zscore');
    expect(m!.method).toBe('mad');
    for (const a of [z!, m!]) expect(a.anomalies.map((x) => x.time)).toEqual([new Date(T0 + 321 * 60_000).toISOString()]);
  });

  it('answers peak hours and daily and weekly patterns in UTC, the documents’ words included', () => {
    // two weeks hourly: occupancy 10 at 09-17 UTC on weekdays, 1 otherwise
    const pts = series(24 * 14, (i) => {
      const hour = i % 24;
      const weekday = Math.floor(i / 24) % 7; // 0 = Monday
      return { occupantCount: weekday < 5 && hour >= 9 && hour <= 17 ? 10 : 1 };
    });
    const analyses = checkAnalyses(['peak_hours', 'usage_patterns'], ['occupantCount']);
    expect(analyses.map((a) => a.type)).toEqual(['peak_hours', 'daily_pattern', 'weekly_pattern']);
    const [peak, daily, weekly] = analyze(pts, analyses).patterns;
    expect(peak!.peaks).toEqual([9, 10, 11]);
    expect(daily!.buckets[9]).toEqual({ key: 9, mean: (10 * 10 + 4 * 1) / 14, count: 14 });
    expect(daily!.buckets[3]).toEqual({ key: 3, mean: 1, count: 14 });
    expect(weekly!.buckets.map((b) => b.mean)).toEqual([...Array(5).fill((9 * 10 + 15) / 24), 1, 1]);
    expect(() => checkAnalyses(['comfort_score'], ['t'])).toThrow();
  });
});
