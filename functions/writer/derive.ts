import { deriveArgsOf, MAX_DERIVE_DEPTH, VALUE_FIELD, type DeriveSource } from '../../shared/domain/derive-definition';
import { deriveValues, SUM_ALIGN_MS, type DerivedValue, type SeriesPoint } from '../../shared/domain/derive-ops';
import type { DataQuery } from '../../shared/domain/query';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Datapoint } from '../../shared/domain/validate-record';
import type { PointStore, SeriesRewriter, StreamRegistry } from '../../shared/ports';
import { windowOf } from '../../shared/domain/window-streams';
import type { Logger } from '../commons/http';
import { recomputeWindows } from './windows';

/** Rows read per store query while a span or a history is paged through. */
export const DERIVE_PAGE = 5_000;

/** Source series read at once for one derived stream and batch. */
const CONCURRENCY = 4;

export interface DeriveDeps {
  registry: Pick<StreamRegistry, 'get'>;
  /** Reads the sources and writes the derived points; its `replaceSeries` (`SeriesRewriter`), when it has one, rewrites a span whole. */
  store: PointStore & Partial<SeriesRewriter>;
  log: Logger;
}

/** A source's series and the range of times a batch brought to it. */
interface Span {
  dimensions: Record<string, string>;
  min: number;
  max: number;
}

const seriesKey = (dims: string[], d: Record<string, string>) => JSON.stringify(dims.map((n) => d[n] ?? ''));

/** Points the deriver wrote to a derived (or window) stream: what its live subscribers and alert rules see. */
export interface DerivedWrite {
  stream: Stream;
  points: Datapoint[];
}

/** One span per value of `dims` the points hold: its earliest and latest time. */
function spansOf(dims: string[], points: readonly Datapoint[]): Span[] {
  const spans = new Map<string, Span>();
  for (const p of points) {
    const key = seriesKey(dims, p.dimensions);
    const span = spans.get(key);
    if (!span) spans.set(key, { dimensions: Object.fromEntries(dims.map((d) => [d, p.dimensions[d] ?? ''])), min: p.time, max: p.time });
    else {
      if (p.time < span.min) span.min = p.time;
      if (p.time > span.max) span.max = p.time;
    }
  }
  return [...spans.values()];
}

/**
 * Derived streams, computed in the writer as their sources' points are stored. Nothing is kept between
 * batches: for each series a batch touched, the source points from the last one before the batch's earliest
 * time to the first one after its latest time are read back from the store, the operator is run over them and
 * the derived points of that span are written (replacing what the span held, where the store can). Any order,
 * duplicate or redelivery of batches gives the derived stream that the sorted raw points give, since the span
 * is always recomputed from what is stored. Derived streams of derived streams follow, up to `MAX_DERIVE_DEPTH`.
 *
 * @example
 * const derive = makeDeriver({ registry, store, log });
 * await derive.afterWrite(stream, points); // in the writer, once the batch's points are stored
 * await derive.backprocess(rate); // a new derived stream, from its sources' history
 */
export function makeDeriver(deps: DeriveDeps) {
  const { registry, store } = deps;

  /** Reads one series' non-null values of `field` in `[start, end)`, in time order, a page at a time. */
  async function readRange(stream: Stream, field: string, dimensions: Record<string, string>, start: number, end: number, order: 'asc' | 'desc' = 'asc', limit = Infinity): Promise<SeriesPoint[]> {
    const out: SeriesPoint[] = [];
    let from = start;
    let to = end;
    while (from < to && out.length < limit) {
      const q: DataQuery = {
        start: from,
        end: to,
        fields: [field],
        granularity: 'raw',
        binMs: 0,
        downsamplers: [],
        filters: Object.fromEntries(stream.dimensions.map((d) => [d, [dimensions[d] ?? '']])),
        keyDimensions: stream.dimensions,
        groupBy: [],
        limit: DERIVE_PAGE,
        order,
      };
      const rows = await store.query(stream, q);
      for (const r of rows) {
        const v = r.values[field];
        if (v === null || v === undefined || typeof v === 'object') continue;
        out.push({ time: r.time, value: v });
        if (out.length >= limit) break;
      }
      if (rows.length < DERIVE_PAGE) break;
      if (order === 'asc') from = rows[rows.length - 1]!.time + 1;
      else to = rows[rows.length - 1]!.time;
    }
    return out;
  }

  async function sourceOf(src: DeriveSource): Promise<Stream | undefined> {
    return registry.get(src.stream);
  }

  /** Replaces the derived series' points in `[start, end]` by `values`; resolves to the points written. */
  async function replace(derived: Stream, dimensions: Record<string, string>, start: number, end: number, values: DerivedValue[]): Promise<Datapoint[]> {
    const points: Datapoint[] = [];
    for (const v of values) if (v.value !== null && v.time >= start && v.time <= end) points.push({ time: v.time, dimensions, values: { [VALUE_FIELD]: v.value } });
    if (store.replaceSeries) await store.replaceSeries(derived, dimensions, start, end, points);
    else if (points.length) await store.write(derived, points);
    return points;
  }

  /**
   * Recomputes the derived series `dimensions` over the span of source times `[min, max]` (of any of its
   * sources) and writes it.
   */
  async function recompute(derived: Stream, dimensions: Record<string, string>, min: number, max: number): Promise<Datapoint[]> {
    const op = derived.deriveOp!;
    const from = derived.deriveFrom!;
    const sources = await Promise.all(from.map(sourceOf));
    if (sources.some((s) => s === undefined)) return [];
    const window = windowOf(derived);
    if (window) return recomputeWindows(store, sources[0]!, derived, window, dimensions, min, max);
    if (op === 'window') return [];
    if (op === 'sum') {
      const start = Math.floor(min / SUM_ALIGN_MS) * SUM_ALIGN_MS;
      const end = Math.floor(max / SUM_ALIGN_MS) * SUM_ALIGN_MS + SUM_ALIGN_MS - 1;
      const series = await Promise.all(from.map((src, i) => readRange(sources[i]!, src.field, dimensions, start, end + 1)));
      return replace(derived, dimensions, start, end, deriveValues(op, series.map((points) => ({ points })), {}));
    }
    // the counter is the last source (counter_derivative's reset stream comes first)
    const data = from.length - 1;
    const counter = sources[data]!;
    const field = from[data]!.field;
    const [prev] = await readRange(counter, field, dimensions, 0, min, 'desc', 1);
    const [next] = await readRange(counter, field, dimensions, max + 1, Number.MAX_SAFE_INTEGER, 'asc', 1);
    const lo = prev?.time ?? min;
    const hi = next?.time ?? max;
    const inputs = await Promise.all(from.map((src, i) => readRange(sources[i]!, src.field, dimensions, lo, hi + 1)));
    // the point at `lo` keeps the derived value its own predecessor gave it
    return replace(derived, dimensions, prev ? lo + 1 : lo, hi, deriveValues(op, from.map((src, i) => ({ ...(src.name !== undefined && { name: src.name }), points: inputs[i]! })), deriveArgsOf(derived)));
  }

  /** Recomputes each span of `derived` and, below the depth bound, what is derived from it; resolves to the points written. */
  async function recomputeSpans(derived: Stream, spans: Span[], depth: number, out: DerivedWrite[] = []): Promise<Datapoint[]> {
    const written: Datapoint[] = [];
    for (let i = 0; i < spans.length; i += CONCURRENCY) {
      const done = await Promise.all(spans.slice(i, i + CONCURRENCY).map((s) => recompute(derived, s.dimensions, s.min, s.max)));
      for (const points of done) for (const p of points) written.push(p);
    }
    if (written.length) out.push({ stream: derived, points: written });
    if (written.length && depth + 1 < MAX_DERIVE_DEPTH) await afterWrite(derived, written, depth + 1, out);
    return written;
  }

  /**
   * Feeds the streams derived from `source` with a batch of its stored points: per derived stream, one span
   * per series the batch touched. A failure throws: the batch is delivered again and the spans recomputed.
   */
  async function afterWrite(source: Stream, points: readonly Datapoint[], depth = 0, out: DerivedWrite[] = []): Promise<DerivedWrite[]> {
    if (!source.derivedBy?.length || points.length === 0) return out;
    const bySeries = spansOf(source.dimensions, points);
    for (const id of source.derivedBy) {
      const derived = await registry.get(id);
      // a link left by a create that failed, or a stream deleted since
      if (!derived?.deriveOp || !derived.deriveFrom?.some((s) => s.stream === source.id)) continue;
      // a window's series are its groupBy values, which may join several of the source's series
      const window = windowOf(derived);
      await recomputeSpans(derived, window ? spansOf(window.groupBy, points) : bySeries, depth, out);
    }
    return out;
  }

  /**
   * Recomputes a derived stream from its sources' whole history: each series of its counter (or first) source
   * is paged through `DERIVE_PAGE` points at a time and each page's span recomputed, so memory stays bounded
   * by a page, whatever the history.
   */
  async function backprocess(derived: Stream): Promise<{ points: number }> {
    const from = derived.deriveFrom;
    if (!derived.deriveOp || !from) return { points: 0 };
    const lead = from[derived.deriveOp === 'sum' ? 0 : from.length - 1]!;
    const source = await sourceOf(lead);
    if (!source) return { points: 0 };
    const series = await store.latest(source, { fields: [lead.field], filters: {} });
    let total = 0;
    for (const row of series) {
      // a page's span reaches the next page's first point: each derived point is counted once, with its own page
      let counted = -Infinity;
      const dimensions = Object.fromEntries(source.dimensions.map((d) => [d, row.dimensions[d] ?? '']));
      for (let start = 0; ; ) {
        const page = await readRange(source, lead.field, dimensions, start, Number.MAX_SAFE_INTEGER, 'asc', DERIVE_PAGE);
        if (page.length === 0) break;
        const last = page[page.length - 1]!.time;
        for (const p of await recomputeSpans(derived, [{ dimensions, min: page[0]!.time, max: last }], 0)) if (p.time > counted && p.time <= last) total++;
        counted = last;
        if (page.length < DERIVE_PAGE) break;
        start = page[page.length - 1]!.time + 1;
      }
    }
    deps.log.info('derived stream backprocessed', { streamId: derived.id, points: total });
    return { points: total };
  }

  return { afterWrite, backprocess };
}

/**
 * The writer's one call: feeds the streams derived from `stream` (and its window streams) with its batch's
 * stored points; resolves to what was written to each, for their live subscribers and alert rules.
 *
 * @example
 * await deriveAfterWrite({ registry, store, log }, stream, points);
 */
export function deriveAfterWrite(deps: DeriveDeps, stream: Stream, points: readonly Datapoint[]): Promise<DerivedWrite[]> {
  return stream.derivedBy?.length ? makeDeriver(deps).afterWrite(stream, points) : Promise.resolve([]);
}
