import { seriesKey, type SeriesPoints } from '../../shared/domain/alert-evaluation';
import { parseDuration, type AlertRule, type MadCondition, type SessionCondition, type WindowAggregate } from '../../shared/domain/alert-rules';
import { MAX_MAD_POINTS, SESSION_LOOKBACK_MS } from '../../shared/domain/alert-window-conditions';
import { inSeasonalHistory, robustRange, seasonalHours, touchedSlides, type WindowValue } from '../../shared/domain/alert-window-evaluation';
import { MAX_LIMIT, type DataQuery, type QueryDownsampler, type Row } from '../../shared/domain/query';
import type { Stream } from '../../shared/domain/stream-definition';
import { measureFields } from '../../shared/domain/stream-names';
import type { PointStore } from '../../shared/ports';

/**
 * The reads of window and history rules, one (or, for seasonal MAD, one per day) `PointStore.query` per
 * rule and batch over the batch's series only: sliding windows and sessions as the store's window queries,
 * history as hourly or daily bins (never raw points, but for MAD), so a rule reads a few rows per series
 * whatever its span. What each costs in Timestream is `ruleScanEstimate`'s (alert-rule-cost.ts).
 *
 * @example
 * const slides = await slidingWindows(store, stream, rule, series); // Map { '["f1"]' => [{ start, value }, …] }
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const DOWNSAMPLER: Record<WindowAggregate, QueryDownsampler> = { avg: 'mean', min: 'min', max: 'max', count: 'count' };

/** Moments of a field over a history: how many points, their sum and their sum of squares. */
export interface Moments {
  n: number;
  sum: number;
  squares: number;
}

/** A history as the rules give it: its span before the batch, and whether it is seasonal (the same UTC hour of each day). */
export interface History {
  overMs: number;
  seasonal?: 'hour' | undefined;
}

function filtersOf(stream: Stream, series: readonly SeriesPoints[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const d of stream.dimensions) filters[d] = [...new Set(series.map((s) => s.dimensions[d] ?? ''))];
  return filters;
}

function baseQuery(stream: Stream, series: readonly SeriesPoints[], field: string, start: number, end: number): DataQuery {
  return {
    start,
    end,
    fields: [field],
    granularity: 'raw',
    binMs: 0,
    downsamplers: [],
    filters: filtersOf(stream, series),
    keyDimensions: [...stream.dimensions],
    groupBy: [],
    limit: MAX_LIMIT,
    order: 'asc',
  };
}

const lastTime = (s: SeriesPoints) => s.points[s.points.length - 1]!.time;
const keyOf = (stream: Stream, row: Row) => seriesKey(stream.dimensions, row.dimensions);

/** A downsampled row's aggregate `d` of `field`, if it is a number. */
function aggregateOf(row: Row, field: string, d: QueryDownsampler): number | undefined {
  const a = row.values[field];
  if (a === null || typeof a !== 'object') return undefined;
  const v = (a as Record<string, unknown>)[d];
  return typeof v === 'number' ? v : undefined;
}

/**
 * Each series' moments of `field` over its history before the batch, from one downsampled query (days of
 * history by day, shorter ones and seasonal ones by hour), pooled from each bin's count, mean and stddev.
 */
export async function historyMoments(store: PointStore, stream: Stream, field: string, history: History, series: readonly SeriesPoints[]): Promise<Map<string, Moments>> {
  const seasonalDays = history.seasonal ? Math.round(history.overMs / DAY_MS) : 0;
  const firstOf = Math.min(...series.map((s) => s.points[0]!.time));
  const daily = !history.seasonal && history.overMs >= 2 * DAY_MS;
  const lasts = series.map(lastTime);
  const [start, end] = history.seasonal
    ? [Math.floor(Math.min(...lasts) / DAY_MS) * DAY_MS - history.overMs, Math.floor(Math.max(...lasts) / DAY_MS) * DAY_MS]
    : [firstOf - history.overMs, firstOf];
  const q: DataQuery = {
    ...baseQuery(stream, series, field, start, end),
    granularity: daily ? '1d' : '1h',
    binMs: daily ? DAY_MS : HOUR_MS,
    downsamplers: ['mean', 'count', 'stddev'],
    keyDimensions: [...stream.dimensions],
    groupBy: [...stream.dimensions],
  };
  const lastOf = new Map(series.map((s) => [s.key, lastTime(s)]));
  const moments = new Map<string, Moments>();
  for (const row of await store.query(stream, q)) {
    const key = keyOf(stream, row);
    const last = lastOf.get(key);
    if (last === undefined || (seasonalDays > 0 && !inSeasonalHistory(row.time, last, seasonalDays))) continue;
    const mean = aggregateOf(row, field, 'mean');
    const count = aggregateOf(row, field, 'count');
    if (mean === undefined || count === undefined || count === 0) continue;
    const stddev = aggregateOf(row, field, 'stddev');
    const m = moments.get(key) ?? { n: 0, sum: 0, squares: 0 };
    // a bin's sum of squares: (n - 1) s² + n μ² (one point: no spread of its own)
    const s2 = stddev !== undefined && count > 1 ? stddev * stddev : 0;
    m.n += count;
    m.sum += mean * count;
    m.squares += (count - 1) * s2 + count * mean * mean;
    moments.set(key, m);
  }
  return moments;
}

/**
 * A sliding rule's windows per series: those holding one of the batch's points of the series, each aggregated
 * over all its stored points (one sliding-window query over the batch's series).
 */
export async function slidingWindows(store: PointStore, stream: Stream, rule: AlertRule, series: readonly SeriesPoints[]): Promise<Map<string, WindowValue[]>> {
  const c = rule.when;
  const out = new Map<string, WindowValue[]>();
  if (!('window' in c) || !c.window?.slide) return out;
  const sizeMs = parseDuration(c.window.over)!;
  const stepMs = parseDuration(c.window.slide)!;
  const touched = new Map(series.map((s) => [s.key, new Set(touchedSlides(s.points.map((p) => p.time), sizeMs, stepMs))]));
  // a loop, not Math.min(...starts): a large batch touches more starts than a call's arguments may hold
  let first = Infinity;
  let last = -Infinity;
  for (const set of touched.values()) {
    for (const t of set) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
  }
  const d = DOWNSAMPLER[c.window.agg];
  const q: DataQuery = {
    ...baseQuery(stream, series, c.field, first, last + sizeMs),
    granularity: `sliding:${c.window.over}/${c.window.slide}`,
    binMs: stepMs,
    downsamplers: [d],
    window: { kind: 'sliding', sizeMs, stepMs },
    keyDimensions: [...stream.dimensions],
    groupBy: [...stream.dimensions],
  };
  for (const row of await store.query(stream, q)) {
    const key = keyOf(stream, row);
    const value = aggregateOf(row, c.field, d);
    if (value === undefined || !touched.get(key)?.has(row.time)) continue;
    const list = out.get(key) ?? [];
    list.push({ start: row.time, value });
    out.set(key, list);
  }
  return out;
}

/**
 * A session rule's aggregate per series: of the session holding the series' newest point of the batch, read
 * over the `SESSION_LOOKBACK_MS` before it (`count()` counts the session's points).
 */
export async function sessionAggregates(store: PointStore, stream: Stream, rule: AlertRule & { when: SessionCondition }, series: readonly SeriesPoints[]): Promise<Map<string, number>> {
  const c = rule.when;
  const field = c.field ?? measureFields(stream)[0]!;
  const d = DOWNSAMPLER[c.session.agg];
  const lasts = series.map(lastTime);
  const gapMs = parseDuration(c.session.gap)!;
  const q: DataQuery = {
    ...baseQuery(stream, series, field, Math.min(...lasts) - SESSION_LOOKBACK_MS, Math.max(...lasts) + 1),
    granularity: `session:${c.session.gap}`,
    downsamplers: [d],
    window: { kind: 'session', gapMs },
    order: 'desc',
  };
  const lastOf = new Map(series.map((s) => [s.key, lastTime(s)]));
  const out = new Map<string, number>();
  for (const row of await store.query(stream, q)) {
    const key = keyOf(stream, row);
    const last = lastOf.get(key);
    // rows come newest first: the first one of a series that starts by its newest point is the session holding it
    if (last === undefined || out.has(key) || row.time > last) continue;
    const value = c.field === undefined ? row.count : aggregateOf(row, field, d);
    if (value !== undefined) out.set(key, value);
  }
  return out;
}

/**
 * A MAD rule's range per series: the values within its robust z-score of the series' raw points over the
 * history before the batch (the newest `MAX_MAD_POINTS`); seasonal: of the same UTC hour on each day before.
 */
export async function madRanges(store: PointStore, stream: Stream, rule: AlertRule & { when: MadCondition }, series: readonly SeriesPoints[]): Promise<Map<string, readonly [number, number]>> {
  const c = rule.when;
  const overMs = parseDuration(c.mad.over)!;
  const first = Math.min(...series.map((s) => s.points[0]!.time));
  const spans = c.mad.seasonal ? seasonalHours(Math.max(...series.map(lastTime)), Math.round(overMs / DAY_MS)).map((h) => [h, h + HOUR_MS] as const) : [[first - overMs, first] as const];
  const values = new Map<string, number[]>();
  const reads = await Promise.all(spans.map(([start, end]) => store.query(stream, { ...baseQuery(stream, series, c.field, start, end), limit: MAX_MAD_POINTS, order: 'desc' })));
  for (const row of reads.flat()) {
    const v = row.values[c.field];
    if (typeof v !== 'number') continue;
    const key = keyOf(stream, row);
    const list = values.get(key) ?? [];
    if (list.length < MAX_MAD_POINTS) list.push(v);
    values.set(key, list);
  }
  const out = new Map<string, readonly [number, number]>();
  for (const [key, list] of values) {
    const range = robustRange(list, c.value);
    if (range) out.set(key, range);
  }
  return out;
}
