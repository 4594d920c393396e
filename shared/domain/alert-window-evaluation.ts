import { median, medianAbsoluteDeviation } from 'simple-statistics';
import { breaches, recordOf, type Breach } from './alert-compare';
import type { Condition } from './alert-rules';
import type { Datapoint } from './validate-record';

/**
 * The pure half of window and history rules (`alert-window-conditions.ts`): which sliding windows a batch
 * touches, how a window's aggregates become a finding, the robust (MAD) range of a history, and which bins
 * a seasonal history keeps. The reads that give these their numbers are the evaluator's.
 *
 * @example
 * touchedSlides([125_000], 300_000, 60_000); // [-120000, -60000, 0, 60000, 120000]
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** The consistency constant of the MAD for a normal distribution (Iglewicz and Hoaglin's modified z-score). */
export const MAD_SCALE = 0.6745;

/** What one rule says of one series on a batch. */
export interface Finding {
  breach?: Breach;
  /** The series' last point is clear of the condition. */
  clearAtEnd: boolean;
  lastTime: number;
}

/** One sliding window of a series: it starts at `start` (a multiple of the slide) and aggregates to `value`. */
export interface WindowValue {
  start: number;
  value: number;
}

/**
 * The starts of the sliding windows `[t, t + size)`, `t` a multiple of `step`, that hold at least one of `times`,
 * ascending.
 *
 * @example
 * touchedSlides([60_000, 61_000], 120_000, 60_000); // [0, 60000]
 */
export function touchedSlides(times: readonly number[], sizeMs: number, stepMs: number): number[] {
  const starts = new Set<number>();
  for (const t of times) {
    const last = Math.floor(t / stepMs) * stepMs;
    for (let start = last; start > t - sizeMs; start -= stepMs) starts.add(start);
  }
  return [...starts].sort((a, b) => a - b);
}

/**
 * A window rule's finding from the window's aggregate, judged at the series' last point; none without an
 * aggregate (an empty window).
 *
 * @example
 * windowFinding({ field: 't', op: '>', value: 30, window: { agg: 'avg', over: '5m' } }, series, 31); // { breach: { value: 31, … }, clearAtEnd: false, … }
 */
export function windowFinding(c: Condition, points: readonly Datapoint[], agg: number | undefined): Finding | undefined {
  const last = points[points.length - 1];
  if (!last || agg === undefined) return undefined;
  const breach = breaches(c, agg);
  return { ...(breach && { breach: { value: agg, time: last.time, data: recordOf(last) } }), clearAtEnd: !breach, lastTime: last.time };
}

/**
 * A sliding rule's finding: the first of the touched windows (in time order) that breaches, at the series'
 * last point in it; clear when the newest touched window is. None without windows.
 *
 * @example
 * slidingFinding(c, points, [{ start: 0, value: 31 }, { start: 60_000, value: 29 }]); // fires on the first, clear at the end
 */
export function slidingFinding(c: Condition, points: readonly Datapoint[], windows: readonly WindowValue[] | undefined, sizeMs: number): Finding | undefined {
  const last = points[points.length - 1];
  if (!last || !windows?.length) return undefined;
  const ordered = [...windows].sort((a, b) => a.start - b.start);
  let breach: Breach | undefined;
  for (const w of ordered) {
    if (!breaches(c, w.value)) continue;
    const inside = points.filter((p) => p.time >= w.start && p.time < w.start + sizeMs);
    const at = inside[inside.length - 1] ?? last;
    breach = { value: w.value, time: at.time, data: recordOf(at) };
    break;
  }
  return { ...(breach && { breach }), clearAtEnd: !breaches(c, ordered[ordered.length - 1]!.value), lastTime: last.time };
}

/**
 * The values whose robust z-score `MAD_SCALE · |x − median| / MAD` is at most `z`: `[median − z·MAD/0.6745,
 * median + z·MAD/0.6745]`; `undefined` with fewer than two values or no spread (MAD 0).
 *
 * @example
 * robustRange([1, 2, 3, 4, 5], 3.5); // median 3, MAD 1: [3 - 5.189…, 3 + 5.189…]
 */
export function robustRange(values: readonly number[], z: number): readonly [number, number] | undefined {
  if (values.length < 2) return undefined;
  const m = median([...values]);
  const mad = medianAbsoluteDeviation([...values]);
  if (!(mad > 0)) return undefined;
  const half = (z * mad) / MAD_SCALE;
  return [m - half, m + half];
}

/**
 * Whether an hourly bin starting at `binStart` is in the seasonal history of a point at `time`: the point's UTC
 * hour on one of the `days` days before the point's day.
 *
 * @example
 * inSeasonalHistory(Date.parse('2026-03-01T14:00Z'), Date.parse('2026-03-02T14:30Z'), 7); // true
 */
export function inSeasonalHistory(binStart: number, time: number, days: number): boolean {
  const day = Math.floor(time / DAY_MS) * DAY_MS;
  const hour = Math.floor((time - day) / HOUR_MS);
  return binStart < day && binStart >= day - days * DAY_MS && Math.floor((binStart - Math.floor(binStart / DAY_MS) * DAY_MS) / HOUR_MS) === hour;
}

/**
 * The hours a seasonal history reads for a point at `time`: `[start, start + 1h)` on each of the `days` days
 * before its day, oldest first.
 *
 * @example
 * seasonalHours(Date.parse('2026-03-08T14:30Z'), 2); // [2026-03-06T14:00Z, 2026-03-07T14:00Z] as epoch ms
 */
export function seasonalHours(time: number, days: number): number[] {
  const hourStart = Math.floor(time / HOUR_MS) * HOUR_MS;
  return Array.from({ length: days }, (_, i) => hourStart - (days - i) * DAY_MS);
}
