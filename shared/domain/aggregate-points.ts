/**
 * Downsampling computed from raw points, for a store whose engine cannot answer a query model exactly
 * (InfluxDB 1.x: its `first`/`last` break ties by series, it has no least-squares trend and no sliding or
 * session windows, its `percentile` is not the nearest rank of the others). The answers are the DuckDB and
 * Timestream stores': epoch-aligned bins (tumbling windows), sliding windows from the range's start rounded
 * down to the step, sessions per key that close after a gap; `mean`, `min`, `max`, `sum` and `count` over
 * the values a field has, `first`/`last` by time, `stddev` the sample deviation, percentiles the nearest rank
 * (the smallest value with at least p of the values at or below it), `trend` the least-squares slope per
 * second and its r² (1 for a flat series, null with fewer than two distinct times).
 *
 * @example
 * const rows = downsamplePoints(q, points); // points of the range, in time order
 */
import { isPercentile, PERCENTILES, queryBinStart, type Aggregates, type Cursor, type DataQuery, type QueryDownsampler, type Row, type Trend } from './query';
import type { Value } from './validate-record';

/** A raw point as a store read it: its dimensions (missing ones absent) and the fields asked for (null where it had none). */
export interface RawPoint {
  time: number;
  dimensions: Record<string, string>;
  values: Record<string, Value | null>;
}

/** A row's ordering key: its time and its key dimensions, missing ones as ''. */
const keyOf = (row: { dimensions: Record<string, string> }, dims: readonly string[]) => dims.map((d) => row.dimensions[d] ?? '');

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return 0;
}

/** Orders rows by (time, key dimensions) as `q.order` says. */
export function compareRows(dims: readonly string[], order: 'asc' | 'desc'): (a: Row | RawPoint, b: Row | RawPoint) => number {
  const sign = order === 'asc' ? 1 : -1;
  return (a, b) => sign * (a.time - b.time || compareKeys(keyOf(a, dims), keyOf(b, dims)));
}

/** Whether a row comes strictly after the cursor in (time, key) order. */
export function isAfter(row: Row | RawPoint, after: Cursor, dims: readonly string[], order: 'asc' | 'desc'): boolean {
  const c = row.time - after.time || compareKeys(keyOf(row, dims), after.key);
  return order === 'asc' ? c > 0 : c < 0;
}

/** Sorts, applies the cursor and the limit: the page a store answers. */
export function pageOf<T extends Row | RawPoint>(rows: T[], q: DataQuery, dims: readonly string[]): T[] {
  const sorted = rows.sort(compareRows(dims, q.order));
  const kept = q.after ? sorted.filter((r) => isAfter(r, q.after!, dims, q.order)) : sorted;
  return kept.slice(0, q.limit);
}

interface Bucket {
  time: number;
  dimensions: Record<string, string>;
  points: RawPoint[];
}

const floorTo = (t: number, step: number) => Math.floor(t / step) * step;

function bucketsOf(q: DataQuery, points: readonly RawPoint[]): Bucket[] {
  const keys = q.keyDimensions;
  const byKey = new Map<string, Bucket>();
  const add = (time: number, p: RawPoint, tag = '') => {
    const dims = keyOf(p, keys);
    const id = JSON.stringify([time, tag, dims]);
    let bucket = byKey.get(id);
    if (!bucket) {
      const dimensions: Record<string, string> = {};
      keys.forEach((d, i) => dims[i] !== '' && (dimensions[d] = dims[i]!));
      byKey.set(id, (bucket = { time, dimensions, points: [] }));
    }
    bucket.points.push(p);
  };
  const window = q.window;
  if (window?.kind === 'session') return sessionsOf(q, points);
  if (window?.kind === 'sliding') {
    const first = floorTo(q.start, window.stepMs);
    const overlap = window.sizeMs / window.stepMs;
    for (const p of points) {
      const last = floorTo(p.time, window.stepMs);
      for (let i = overlap - 1; i >= 0; i--) {
        const start = last - i * window.stepMs;
        if (start >= first) add(start, p);
      }
    }
  } else for (const p of points) add(queryBinStart(q, p.time), p);
  return [...byKey.values()];
}

/** Sessions per key: a point more than the gap after its key's previous point starts a new one. */
function sessionsOf(q: DataQuery, points: readonly RawPoint[]): (Bucket & { end: number })[] {
  if (q.window?.kind !== 'session') return [];
  const gap = q.window.gapMs;
  const open = new Map<string, Bucket & { end: number }>();
  const sessions: (Bucket & { end: number })[] = [];
  for (const p of points) {
    const dims = keyOf(p, q.keyDimensions);
    const id = JSON.stringify(dims);
    let s = open.get(id);
    if (!s || p.time - s.end > gap) {
      const dimensions: Record<string, string> = {};
      q.keyDimensions.forEach((d, i) => dims[i] !== '' && (dimensions[d] = dims[i]!));
      s = { time: p.time, end: p.time, dimensions, points: [] };
      open.set(id, s);
      sessions.push(s);
    }
    s.points.push(p);
    s.end = p.time;
  }
  return sessions;
}

function trendOf(xs: number[], ys: number[]): Trend | null {
  const n = xs.length;
  if (n < 2) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return null;
  return { slope: sxy / sxx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

function aggregate(field: string, downsamplers: readonly QueryDownsampler[], points: readonly RawPoint[], origin: number): Aggregates {
  const had = points.filter((p) => p.values[field] !== null && p.values[field] !== undefined);
  const values = had.map((p) => p.values[field]!);
  const numbers = values.filter((v): v is number => typeof v === 'number');
  const n = numbers.length;
  const sum = numbers.reduce((a, b) => a + b, 0);
  const out: Aggregates = {};
  let sorted: number[] | undefined;
  for (const d of downsamplers) {
    if (isPercentile(d)) {
      sorted ??= [...numbers].sort((a, b) => a - b);
      out[d] = n ? sorted[Math.max(0, Math.ceil(PERCENTILES[d] * n) - 1)]! : null;
      continue;
    }
    switch (d) {
      case 'count':
        out.count = values.length;
        break;
      case 'sum':
        out.sum = n ? sum : null;
        break;
      case 'mean':
        out.mean = n ? sum / n : null;
        break;
      case 'min':
        out.min = n ? numbers.reduce((a, b) => (b < a ? b : a)) : null;
        break;
      case 'max':
        out.max = n ? numbers.reduce((a, b) => (b > a ? b : a)) : null;
        break;
      case 'first':
        out.first = values.length ? values[0]! : null;
        break;
      case 'last':
        out.last = values.length ? values[values.length - 1]! : null;
        break;
      case 'stddev': {
        const mean = sum / n;
        out.stddev = n > 1 ? Math.sqrt(numbers.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : null;
        break;
      }
      case 'trend': {
        const numeric = had.filter((p) => typeof p.values[field] === 'number');
        out.trend = trendOf(numeric.map((p) => (p.time - origin) / 1000), numeric.map((p) => p.values[field] as number));
        break;
      }
    }
  }
  return out;
}

/**
 * The downsampled rows of a query (bins, sliding or session windows) from the points of its range, which
 * must come in time order (ties in any order): every row, sorted, after `q.after`, at most `q.limit`.
 */
export function downsamplePoints(q: DataQuery, points: readonly RawPoint[]): Row[] {
  const rows = bucketsOf(q, points).map((b): Row => {
    const values: Row['values'] = {};
    for (const f of q.fields) values[f] = aggregate(f, q.downsamplers, b.points, q.start);
    const row: Row = { time: b.time, dimensions: b.dimensions, values };
    if ('end' in b) {
      row.end = b.end as number;
      row.count = b.points.length;
    }
    return row;
  });
  return pageOf(rows, q, q.keyDimensions);
}
