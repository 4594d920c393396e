import { column, type SeriesPoint } from './series';

/**
 * The documents' named usage analyses, where they are well defined: a field's mean per UTC hour of the day
 * (`daily_pattern`), per ISO weekday (`weekly_pattern`, 1 = Monday), and the hours with the highest means
 * (`peak_hours`, the document's occupancy example).
 *
 * @example
 * patternOf(points, 'occupantCount', 'peak_hours', 3); // { type: 'peak_hours', buckets: [24 hours], peaks: [9, 10, 14] }
 */

export type PatternType = 'peak_hours' | 'daily_pattern' | 'weekly_pattern';

export interface PatternBucket {
  /** The UTC hour (0–23) or ISO weekday (1 = Monday … 7 = Sunday). */
  key: number;
  mean: number | null;
  count: number;
}

export interface PatternResult {
  type: PatternType;
  field: string;
  /** `hour` for daily patterns and peak hours, `weekday` for weekly ones (both UTC). */
  by: 'hour' | 'weekday';
  buckets: PatternBucket[];
  /** peak_hours: the hours with the highest means, highest first. */
  peaks?: number[];
}

const DAY_MS = 86_400_000;

const hourOf = (t: number) => Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000);
/** 1970-01-01 was a Thursday (ISO 4). */
const weekdayOf = (t: number) => ((((Math.floor(t / DAY_MS) + 3) % 7) + 7) % 7) + 1;

/**
 * One pattern of a field over the points.
 *
 * @example
 * patternOf(points, 'load', 'weekly_pattern', 0).buckets.map((b) => b.key); // [1, 2, 3, 4, 5, 6, 7]
 */
export function patternOf(points: readonly SeriesPoint[], field: string, type: PatternType, top: number): PatternResult {
  const { t, y } = column(points, field);
  const weekly = type === 'weekly_pattern';
  const keys = weekly ? [1, 2, 3, 4, 5, 6, 7] : Array.from({ length: 24 }, (_, h) => h);
  const sums = new Map(keys.map((k) => [k, { sum: 0, count: 0 }]));
  t.forEach((ti, i) => {
    const b = sums.get(weekly ? weekdayOf(ti) : hourOf(ti))!;
    b.sum += y[i]!;
    b.count += 1;
  });
  const buckets = keys.map((key) => {
    const { sum, count } = sums.get(key)!;
    return { key, mean: count ? sum / count : null, count };
  });
  const result: PatternResult = { type, field, by: weekly ? 'weekday' : 'hour', buckets };
  if (type === 'peak_hours') {
    result.peaks = buckets
      .filter((b): b is PatternBucket & { mean: number } => b.mean !== null)
      .sort((a, b) => b.mean - a.mean || a.key - b.key)
      .slice(0, top)
      .map((b) => b.key);
  }
  return result;
}
