import * as z from 'zod';
import { compareRows, downsamplePoints, pageOf, type RawPoint } from '../domain/aggregate-points';
import { BadRequestError, StoreUnavailableError } from '../domain/errors';
import { queryBinEnd, queryBinStart, type Aggregates, type DataQuery, type LatestQuery, type Row } from '../domain/query';
import { slidingRowsProblem } from '../domain/query-window';
import type { Stream } from '../domain/stream-definition';
import type { Datapoint, Value } from '../domain/validate-record';
import type { PointEraser, PointStore, RejectedPoint, SeriesRewriter, WriteResult } from '../ports';
import { type InfluxCredentials, InfluxHttp, type InfluxSeries, WriteRefusal } from './influxdb-http';
import { encodePoints } from './influxdb-line-protocol';
import { binColumn, binsQl, BIN_POINTS, createDatabaseQl, deleteSeriesQl, deleteSeriesV2, deleteStreamV2, dropMeasurementQl, INFLUX_DOWNSAMPLERS, type InfluxDownsampler, latestQl, matchableFilters, pageEndQl, pointsQl, POINT_MARKER, type InfluxTarget } from './influxdb-sql';

const OptionsSchema = z.strictObject({
  /** `http://127.0.0.1:8086`, or the instance's endpoint `https://<id>.<region>.timestream-influxdb.amazonaws.com:8086`. */
  url: z.url(),
  database: z.string().min(1).max(255).default('tributary'),
  retentionPolicy: z.string().min(1).max(255).optional(),
  /**
   * `1.x` (the default) deletes with InfluxQL (`DELETE`, `DROP MEASUREMENT`); `2.x` (Timestream for InfluxDB) with
   * `/api/v2/delete` in `organization`, since InfluxDB 2's v1 `/query` takes reads only.
   */
  version: z.enum(['1.x', '2.x']).default('1.x'),
  organization: z.string().min(1).default('tributary'),
  /** Read before each call (`influxCredentialsSource` in AWS); absent where InfluxDB runs without authentication (a local 1.x). */
  credentials: z.custom<() => Promise<InfluxCredentials | undefined>>((v) => typeof v === 'function').optional(),
  /** Lines per `/write` request (InfluxData recommends 5,000). */
  batchLines: z.number().int().min(1).max(100_000).default(5_000),
  timeoutMs: z.number().int().min(100).default(30_000),
  /**
   * How long this process trusts the newest time it knows of each series (read with one `SELECT` per stream,
   * then kept up to date by its own writes): a batch whose every point is newer is written without first
   * reading its range. Another writer's points stored meanwhile at newer times are not seen for that long
   * (0: read before every write).
   */
  newestTtlMs: z.number().int().min(0).default(10_000),
  fetch: z.custom<typeof fetch>((v) => typeof v === 'function').default(() => fetch),
});

/** What `InfluxDbPointStore` takes: the server, the database (one per deployment) and its token. */
export type InfluxDbPointStoreOptions = z.input<typeof OptionsSchema>;

/**
 * `PointStore` on InfluxDB's HTTP API (1.x, 2.x / Timestream for InfluxDB through the v1 compatibility
 * endpoints, 3): one database per deployment, one measurement per stream, dimensions as tags, measure fields
 * typed as the schema says (`influxdb-line-protocol.ts`), InfluxQL built by `influxdb-sql.ts`.
 *
 * InfluxDB keeps one point per series and time and overwrites it on a second write, merging fields; the
 * contract keeps the first. So a write first reads which of its (series, time) pairs the range of the batch
 * already holds and writes only the others (two writers racing on the same new point may still both land:
 * the last one's values win, as InfluxDB does). That read is skipped when every point of the batch is newer
 * than its series' newest time as this process knows it (`newestTtlMs`): the usual in-order stream.
 *
 * Raw pages: InfluxDB orders only by time, so a page is the first `limit` times (`pageEndQl`), then every
 * point up to the last of them, ties included, sorted by (time, dimensions) here. Downsampled rows, windows
 * included, are computed here from the range's raw points (`downsamplePoints`), not by InfluxQL's `GROUP BY
 * time()`: InfluxDB 1.6's `first`/`last` break ties by series, its `percentile` is not the nearest rank,
 * and it has no trend, sliding or session windows. That reads every point of the range; InfluxQL's own
 * aggregates would read less, at the price of answers that differ from the other stores.
 *
 * @example
 * const store = new InfluxDbPointStore({ url: 'http://127.0.0.1:8086', database: 'tributary' });
 * await store.ensureDatabase(); // InfluxDB 1.x; 2.x and 3 map it to the bucket the deployment made
 * await store.write(stream, points);
 */
export class InfluxDbPointStore implements PointStore, PointEraser, SeriesRewriter {
  private readonly http: InfluxHttp;
  private readonly target: InfluxTarget;
  private readonly options: z.output<typeof OptionsSchema>;
  /** Per stream: when its series' newest times were read, and each series' newest time (absent: none stored). */
  private readonly newest = new Map<string, { readAt: number; bySeries: Map<string, number> }>();

  constructor(options: InfluxDbPointStoreOptions) {
    this.options = OptionsSchema.parse(options);
    this.http = new InfluxHttp({ url: this.options.url, timeoutMs: this.options.timeoutMs, fetch: this.options.fetch, ...(this.options.credentials && { credentials: this.options.credentials }) });
    this.target = { database: this.options.database, ...(this.options.retentionPolicy && { retentionPolicy: this.options.retentionPolicy }) };
  }

  /** Creates the database if missing (InfluxDB 1.x; idempotent). */
  async ensureDatabase(): Promise<void> {
    await this.http.query(this.target.database, createDatabaseQl(this.target), 'POST');
  }

  async write(stream: Stream, points: Datapoint[]): Promise<WriteResult> {
    if (points.length === 0) return { written: 0, rejected: [] };
    const newest = await this.newestOf(stream);
    const fresh = newest && allNewer(stream, points, newest.bySeries) ? withoutRepeats(stream, points) : await this.withoutStored(stream, points);
    const encoded = encodePoints(stream, points, fresh);
    const rejected: RejectedPoint[] = [...encoded.rejected];
    if (!newest) {
      await this.writeEncoded(encoded, rejected);
    } else {
      // raised before the write, so that a concurrent write of this process sees these times; only ever raised
      for (const p of points) {
        const key = seriesKey(stream, p.dimensions);
        if (p.time > (newest.bySeries.get(key) ?? -Infinity)) newest.bySeries.set(key, p.time);
      }
      try {
        await this.writeEncoded(encoded, rejected);
      } catch (error) {
        // a write that failed part way may have stored some lines, or another writer's: read what is there next time
        newest.readAt = -Infinity;
        throw error;
      }
    }
    rejected.sort((a, b) => a.index - b.index);
    return { written: points.length - rejected.length, rejected };
  }

  private async writeEncoded(encoded: ReturnType<typeof encodePoints>, rejected: RejectedPoint[]): Promise<void> {
    for (let i = 0; i < encoded.lines.length; i += this.options.batchLines) {
      const lines = encoded.lines.slice(i, i + this.options.batchLines);
      try {
        await this.http.writeLines(this.target.database, this.target.retentionPolicy, lines);
      } catch (error) {
        if (!(error instanceof WriteRefusal)) throw error;
        // InfluxDB 1.x writes the lines it can take and names only the first it refused: one line at a time
        // tells which (rewriting a line already written changes nothing)
        for (const [j, line] of lines.entries()) {
          await this.http.writeLines(this.target.database, this.target.retentionPolicy, [line]).catch((e: unknown) => {
            if (!(e instanceof WriteRefusal)) throw e;
            rejected.push({ index: encoded.indexes[i + j]!, reason: e.message });
          });
        }
      }
    }
  }

  /**
   * The newest time of each of the stream's series as this process knows it: read (one `SELECT` of each
   * series' newest point) when older than `newestTtlMs`, never lowered below what this process wrote; none
   * with a TTL of 0.
   */
  private async newestOf(stream: Stream): Promise<{ readAt: number; bySeries: Map<string, number> } | undefined> {
    if (this.options.newestTtlMs === 0) return undefined;
    const known = this.newest.get(cacheKey(stream));
    if (known && Date.now() - known.readAt < this.options.newestTtlMs) return known;
    const readAt = Date.now();
    const series = await this.http.query(this.target.database, latestQl(stream, this.target, [], {}));
    const entry = this.newest.get(cacheKey(stream)) ?? { readAt, bySeries: new Map<string, number>() };
    for (const p of pointsOf(stream, series, [])) {
      const key = seriesKey(stream, p.dimensions);
      if (p.time > (entry.bySeries.get(key) ?? -Infinity)) entry.bySeries.set(key, p.time);
    }
    entry.readAt = readAt;
    this.newest.set(cacheKey(stream), entry);
    return entry;
  }

  /** Positions of the points that repeat neither an earlier point of the batch nor a stored one. */
  private async withoutStored(stream: Stream, points: Datapoint[]): Promise<number[]> {
    const keyOf = pointKey(stream);
    let from = Infinity;
    let to = -Infinity;
    for (const p of points) {
      if (p.time < from) from = p.time;
      if (p.time > to) to = p.time;
    }
    const stored = new Set<string>();
    if (Number.isSafeInteger(from) && Number.isSafeInteger(to)) {
      const series = await this.http.query(this.target.database, pointsQl(stream, this.target, { fields: [], from, to, toInclusive: true, filters: {} }));
      for (const p of pointsOf(stream, series, [])) stored.add(keyOf(p.time, p.dimensions));
    }
    const kept: number[] = [];
    points.forEach((p, i) => {
      const key = keyOf(p.time, p.dimensions);
      if (stored.has(key)) return;
      stored.add(key);
      kept.push(i);
    });
    return kept;
  }

  /**
   * Deletes one series' points in `[start, end]` (inclusive), then writes `points`: a derived stream's span
   * recomputed. Two requests: a failure between them leaves the span empty until the batch that caused it is
   * delivered again, which recomputes it.
   */
  async replaceSeries(stream: Stream, dimensions: Record<string, string>, start: number, end: number, points: Datapoint[]): Promise<WriteResult> {
    if (this.options.version === '2.x') {
      // a span the predicate cannot name keeps its stored points: recomputed values at those times are not written
      const body = deleteSeriesV2(stream, dimensions, start, end);
      if (body) await this.http.deleteV2(this.options.organization, this.target.database, body);
    } else if (!Object.values(dimensions).some((v) => /[\r\u0000]/.test(v))) {
      await this.http.query(this.target.database, deleteSeriesQl(stream, dimensions, start, end), 'POST');
    }
    return this.write(stream, points);
  }

  /** Drops the stream's measurement (its every series and point); idempotent. */
  async eraseStream(streamId: string): Promise<'erased'> {
    if (this.options.version === '2.x') {
      await this.http.deleteV2(this.options.organization, this.target.database, deleteStreamV2(streamId));
      return 'erased';
    }
    await this.http.query(this.target.database, dropMeasurementQl(streamId), 'POST');
    return 'erased';
  }

  async query(stream: Stream, query: DataQuery): Promise<Row[]> {
    const filters = matchableFilters(query.filters);
    if (!filters) return [];
    const q = { ...query, filters };
    if (q.granularity === 'raw' && !q.window) return this.rawPage(stream, q);
    const { from, to } = downsampledRange(q);
    if (from >= to) return [];
    if (!q.window && inInfluxQl(stream, q)) {
      const rows = await this.bins(stream, q, from, to);
      if (rows) return pageOf(rows, q, q.keyDimensions);
    }
    const points = await this.read(stream, q.fields, q.filters, from, to, false);
    if (q.window) {
      const tooMany = slidingRowsProblem(q.window, points.length);
      if (tooMany) throw new BadRequestError('Invalid query parameters.', [{ path: ['window'], message: tooMany }]);
    }
    return downsamplePoints(q, points.sort(compareRows(q.keyDimensions, 'asc')));
  }

  /** The bins InfluxQL aggregates; `undefined` where InfluxDB refuses the statement (a field stored with another type than the schema's now). */
  private async bins(stream: Stream, q: DataQuery, from: number, to: number): Promise<Row[] | undefined> {
    const downsamplers = q.downsamplers as InfluxDownsampler[];
    let series;
    try {
      series = await this.http.query(this.target.database, binsQl(stream, this.target, { fields: q.fields, from, to, filters: q.filters, binMs: q.binMs, downsamplers, groupBy: q.keyDimensions }));
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      return undefined;
    }
    const rows: Row[] = [];
    for (const s of series) {
      const dimensions: Record<string, string> = {};
      for (const d of q.keyDimensions) {
        const v = s.tags?.[d];
        if (v !== undefined && v !== '') dimensions[d] = v;
      }
      const points = s.columns.indexOf(BIN_POINTS);
      const at = q.fields.map((_, i) => downsamplers.map((d) => s.columns.indexOf(binColumn(i, d))));
      for (const row of s.values) {
        if (!row[points]) continue;
        const values: Row['values'] = {};
        q.fields.forEach((f, i) => {
          const aggregates: Aggregates = {};
          downsamplers.forEach((d, j) => {
            const v = (row[at[i]![j]!] ?? null) as number | null;
            aggregates[d] = d === 'count' ? (v ?? 0) : v;
          });
          values[f] = aggregates;
        });
        rows.push({ time: Number(row[0]), dimensions: { ...dimensions }, values });
      }
    }
    return rows;
  }

  private async rawPage(stream: Stream, q: DataQuery): Promise<Row[]> {
    // the rows at the cursor's time may come before or after it: read that time whole, then the page's times
    let from = q.start;
    let to = q.end;
    if (q.after) {
      if (q.order === 'asc') from = Math.max(from, q.after.time);
      else to = Math.min(to, q.after.time + 1);
    }
    if (from >= to) return [];
    const beyond = q.after ? (q.order === 'asc' ? { from: q.after.time + 1, to } : { from, to: q.after.time }) : { from, to };
    const times = await this.http.query(this.target.database, pageEndQl(stream, this.target, { ...beyond, filters: q.filters }, q.order, q.limit));
    const found = times.flatMap((s) => s.values.map((v) => Number(v[0])));
    if (found.length === q.limit) {
      const edge = found[found.length - 1]!;
      if (q.order === 'asc') to = edge + 1;
      else from = edge;
    }
    const points = await this.read(stream, q.fields, q.filters, from, to, false);
    return pageOf(points, q, q.keyDimensions) as Row[];
  }

  async latest(stream: Stream, q: LatestQuery): Promise<Row[]> {
    const filters = matchableFilters(q.filters);
    if (!filters) return [];
    const series = await this.http.query(this.target.database, latestQl(stream, this.target, q.fields, filters));
    return pointsOf(stream, series, q.fields).sort(compareRows(stream.dimensions, 'asc'));
  }

  private async read(stream: Stream, fields: string[], filters: Record<string, string[]>, from: number, to: number, toInclusive: boolean): Promise<RawPoint[]> {
    const series = await this.http.query(this.target.database, pointsQl(stream, this.target, { fields, from, to, toInclusive, filters }));
    return pointsOf(stream, series, fields);
  }
}

const NUMERIC = new Set(['number', 'integer']);

/** Whether InfluxQL answers the bins as the contract does: only its downsamplers, and `count` alone on a field that is not a number. */
function inInfluxQl(stream: Stream, q: DataQuery): boolean {
  // calendar months (binMs 0) have no GROUP BY time() of InfluxQL: they are binned from the raw points
  if (!(q.binMs > 0)) return false;
  if (!q.downsamplers.every((d) => (INFLUX_DOWNSAMPLERS as readonly string[]).includes(d))) return false;
  const countOnly = q.downsamplers.every((d) => d === 'count');
  return countOnly || q.fields.every((f) => NUMERIC.has((stream.schema as Record<string, { type: string }>)[f]?.type ?? ''));
}

const cacheKey = (stream: Stream) => JSON.stringify([stream.id, ...stream.dimensions]);
const seriesKey = (stream: Stream, dims: Record<string, string>) => JSON.stringify(stream.dimensions.map((d) => dims[d] ?? ''));
const pointKey = (stream: Stream) => (time: number, dims: Record<string, string>) => JSON.stringify([time, ...stream.dimensions.map((d) => dims[d] ?? '')]);

/** Whether every point is newer than what its series holds (as far as `newest` knows). */
function allNewer(stream: Stream, points: Datapoint[], newest: Map<string, number>): boolean {
  return points.every((p) => Number.isSafeInteger(p.time) && p.time > (newest.get(seriesKey(stream, p.dimensions)) ?? -Infinity));
}

/** Positions of the points that repeat no earlier point of the batch. */
function withoutRepeats(stream: Stream, points: Datapoint[]): number[] {
  const keyOf = pointKey(stream);
  const seen = new Set<string>();
  const kept: number[] = [];
  points.forEach((p, i) => {
    const key = keyOf(p.time, p.dimensions);
    if (seen.has(key)) return;
    seen.add(key);
    kept.push(i);
  });
  return kept;
}

/** The raw range a downsampled page needs: the query's, narrowed to the windows at or past the cursor. */
function downsampledRange(q: DataQuery): { from: number; to: number } {
  let from = q.start;
  let to = q.end;
  const after = q.after;
  if (!after || q.window?.kind === 'session') return { from, to };
  if (q.window?.kind === 'sliding') {
    if (q.order === 'asc') from = Math.max(from, after.time);
    else to = Math.min(to, after.time + q.window.sizeMs);
  } else {
    const bin = queryBinStart(q, after.time);
    if (q.order === 'asc') from = Math.max(from, bin);
    else to = Math.min(to, queryBinEnd(q, bin));
  }
  return { from, to };
}

/** Series of a `GROUP BY *` answer as points: the stream's dimensions from the tags ('' is missing), the fields asked for. */
function pointsOf(stream: Stream, series: InfluxSeries[], fields: string[]): RawPoint[] {
  const points: RawPoint[] = [];
  for (const s of series) {
    const dimensions: Record<string, string> = {};
    for (const d of stream.dimensions) {
      const v = s.tags?.[d];
      if (v !== undefined && v !== '') dimensions[d] = v;
    }
    const at = fields.map((f) => s.columns.indexOf(f));
    const marker = s.columns.indexOf(POINT_MARKER);
    for (const row of s.values) {
      if (marker >= 0 && row[marker] === null) continue;
      const values: Record<string, Value | null> = {};
      fields.forEach((f, i) => {
        values[f] = at[i]! >= 0 ? ((row[at[i]!] ?? null) as Value | null) : null;
      });
      points.push({ time: Number(row[0]), dimensions: { ...dimensions }, values });
    }
  }
  return points;
}
