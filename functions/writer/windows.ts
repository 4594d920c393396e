import type { Aggregates, DataQuery, Row, Trend } from '../../shared/domain/query';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Datapoint, Value } from '../../shared/domain/validate-record';
import { queryWindowOf, SESSION_END, SESSION_POINTS, windowColumn, windowText, type WindowDef } from '../../shared/domain/window-streams';
import type { PointStore, SeriesRewriter } from '../../shared/ports';

/** Windows read per store query while a span is recomputed (the query API's largest page). */
const WINDOW_PAGE = 10_000;

type Store = PointStore & Partial<SeriesRewriter>;

/** The window's points of one row: each field's aggregates as `{field}_{aggregation}` columns. */
function pointOf(w: WindowDef, row: Row, dimensions: Record<string, string>): Datapoint | undefined {
  const values: Record<string, Value> = {};
  for (const f of w.fields) {
    const aggs = row.values[f] as Aggregates | null | undefined;
    if (!aggs || typeof aggs !== 'object') continue;
    for (const d of w.aggregations) {
      const v = aggs[d];
      if (v === null || v === undefined) continue;
      if (d === 'trend') {
        const t = v as Trend;
        values[windowColumn(f, d)] = t.slope;
        values[`${windowColumn(f, d)}_r2`] = t.r2;
      } else if (typeof v === 'number') values[windowColumn(f, d)] = v;
    }
  }
  if (w.type === 'session' && row.end !== undefined) {
    values[SESSION_END] = row.end;
    values[SESSION_POINTS] = row.count ?? 0;
  }
  return Object.keys(values).length ? { time: row.time, dimensions, values } : undefined;
}

/** The windowed query of one group over `[start, end)`, as `GET …/data?window=…&groupBy=…` reads it. */
function windowQuery(w: WindowDef, dimensions: Record<string, string>, start: number, end: number): DataQuery {
  const window = queryWindowOf(w);
  return {
    start,
    end,
    fields: w.fields,
    granularity: windowText(w) as DataQuery['granularity'],
    binMs: window.kind === 'tumbling' ? window.sizeMs : window.kind === 'sliding' ? window.stepMs : 0,
    downsamplers: w.aggregations,
    window,
    filters: Object.fromEntries(w.groupBy.map((d) => [d, [dimensions[d] ?? '']])),
    keyDimensions: w.groupBy,
    groupBy: w.groupBy,
    limit: WINDOW_PAGE,
    order: 'asc',
  };
}

/** Every row of a windowed query, a page at a time. */
async function readAll(store: Store, source: Stream, q: DataQuery): Promise<Row[]> {
  const out: Row[] = [];
  for (let page = q; ; ) {
    const rows = await store.query(source, page);
    for (const r of rows.slice(0, WINDOW_PAGE)) out.push(r);
    if (rows.length < WINDOW_PAGE) return out;
    const last = rows[WINDOW_PAGE - 1]!;
    page = { ...q, after: { time: last.time, key: q.keyDimensions.map((d) => last.dimensions[d] ?? '') } };
  }
}

/** The stored sessions of one group that start in `[start, end)`: their starts and ends. */
async function storedSessions(store: Store, target: Stream, dimensions: Record<string, string>, start: number, end: number, order: 'asc' | 'desc', limit: number): Promise<{ time: number; end: number }[]> {
  const rows = await store.query(target, {
    start,
    end,
    fields: [SESSION_END],
    granularity: 'raw',
    binMs: 0,
    downsamplers: [],
    filters: Object.fromEntries(target.dimensions.map((d) => [d, [dimensions[d] ?? '']])),
    keyDimensions: target.dimensions,
    groupBy: [],
    limit,
    order,
  });
  return rows.map((r) => ({ time: r.time, end: typeof r.values[SESSION_END] === 'number' ? (r.values[SESSION_END] as number) : r.time }));
}

/**
 * The window starts a batch's times `[min, max]` in one group reach, inclusive, and the source range to read
 * for them. A tumbling window holds `[t, t + size)`; a sliding one too, `t` a multiple of the step, so a time
 * is in `size / step` of them; a session reaches back to the stored session it continues and on to the stored
 * sessions it now joins.
 */
async function spanOf(store: Store, target: Stream, w: WindowDef, dimensions: Record<string, string>, min: number, max: number): Promise<{ lo: number; hi: number; end: number }> {
  const window = queryWindowOf(w);
  if (window.kind === 'tumbling') {
    const lo = Math.floor(min / window.sizeMs) * window.sizeMs;
    const hi = Math.floor(max / window.sizeMs) * window.sizeMs;
    return { lo, hi, end: hi + window.sizeMs };
  }
  if (window.kind === 'sliding') {
    const lo = (Math.floor(min / window.stepMs) - window.sizeMs / window.stepMs + 1) * window.stepMs;
    const hi = Math.floor(max / window.stepMs) * window.stepMs;
    return { lo, hi, end: hi + window.sizeMs };
  }
  let lo = min;
  let hi = max;
  const [before] = await storedSessions(store, target, dimensions, Number.MIN_SAFE_INTEGER, min + 1, 'desc', 1);
  if (before && before.end >= min - window.gapMs) {
    lo = before.time;
    hi = Math.max(hi, before.end);
  }
  // stored sessions are more than a gap apart: those starting within a gap of the span are all it joins
  for (const s of await storedSessions(store, target, dimensions, lo, hi + window.gapMs + 1, 'asc', WINDOW_PAGE)) hi = Math.max(hi, s.end);
  return { lo, hi, end: hi + 1 };
}

/**
 * Recomputes the windows of `target` (a window stream) that the source times `[min, max]` of one group reach,
 * from the stored source points, and rewrites them (a store without `replaceSeries` writes them over, so a
 * window that no longer exists, two sessions a late point joined, stays there). Resolves to the points written.
 *
 * @example
 * await recomputeWindows(store, source, target, { deviceId: 'd1' }, batchMin, batchMax);
 */
export async function recomputeWindows(store: Store, source: Stream, target: Stream, w: WindowDef, series: Record<string, string>, min: number, max: number): Promise<Datapoint[]> {
  const dimensions = Object.fromEntries(w.groupBy.map((d) => [d, series[d] ?? '']));
  const { lo, hi, end } = await spanOf(store, target, w, dimensions, min, max);
  const rows = await readAll(store, source, windowQuery(w, dimensions, lo, end));
  const points: Datapoint[] = [];
  for (const r of rows) {
    if (r.time < lo || r.time > hi) continue;
    const p = pointOf(w, r, dimensions);
    if (p) points.push(p);
  }
  if (store.replaceSeries) await store.replaceSeries(target, dimensions, lo, hi, points);
  else if (points.length) await store.write(target, points);
  return points;
}
