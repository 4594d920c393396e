import { analysisFields, analyze, AnalyzeRequestSchema, checkAnalyses, streamReadKey, streamReads, type SeriesPoint, type StreamRead } from '../../shared/domain/analytics';
import { BadRequestError, StreamNotFoundError } from '../../shared/domain/errors';
import { parseDataQuery, type DataQuery, type Row } from '../../shared/domain/query';
import { canonicalQueryParams } from '../../shared/domain/query-dialect';
import type { Stream } from '../../shared/domain/stream-definition';
import { measureFields, toIssues } from '../../shared/domain/stream-names';
import type { Clock, PointStore, StreamRegistry } from '../../shared/ports';
import { requireScope } from '../commons/auth';
import { DEFAULT_LIMITS, parseJsonBody } from '../commons/body';
import { bodyText, type HttpEvent, type HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';

/** Points one analysis request may read: past it, narrow the range, name a series or give a granularity. */
export const MAX_ANALYSIS_POINTS = 200_000;

const refuse = (path: (string | number)[], message: string) => new BadRequestError('Invalid analysis request.', [{ path, message }]);
const isNumeric = (stream: Stream, f: string) => stream.schema[f]?.type === 'number' || stream.schema[f]?.type === 'integer';

/**
 * `POST /v1/streams/{id}/analyze`: the documents' `streams.analyze`. Reads the points of the range (raw, of the
 * series `dimensions` names, or the means per `granularity` bin) for the fields the analyses name, and answers
 * `{trends, anomalies, correlations, forecast, patterns}` (`shared/domain/analytics.ts`). A correlation
 * between two streams reads each stream's means per bin over the same range, the caller's token checked for
 * `read:` of each.
 *
 * @example
 * await analyzeRoute(stream, event); // 200 { streamId, points: 1440, trends: [{ field: 'temperature', slopePerHour: 0.02, … }], … }
 */
export function makeAnalyze(deps: { store: PointStore; clock: Clock; registry: Pick<StreamRegistry, 'get'> }) {
  return async function analyzeRoute(stream: Stream, event: HttpEvent): Promise<HttpResult> {
    const parsed = AnalyzeRequestSchema.safeParse(parseJsonBody(bodyText(event), DEFAULT_LIMITS));
    if (!parsed.success) throw new BadRequestError('Invalid analysis request.', toIssues(parsed.error));
    const request = parsed.data;
    const analyses = checkAnalyses(request.analyses, measureFields(stream).filter((f) => isNumeric(stream, f)));
    const now = deps.clock.now();
    const range = typeof request.timeRange === 'string' ? { timeRange: request.timeRange } : { start: request.timeRange.start, ...(request.timeRange.end && { end: request.timeRange.end }) };
    const fields = analysisFields(analyses);
    const params: Record<string, string | undefined> = {
      fields: (fields.length ? fields : measureFields(stream).filter((f) => isNumeric(stream, f)).slice(0, 1)).join(','),
      ...range,
      // raw unless asked: a stream's default query (its processing.frequency) does not apply to analyses
      granularity: request.granularity ?? 'raw',
      ...(request.granularity !== undefined && request.granularity !== 'raw' && { downsamplers: 'mean' }),
      ...Object.fromEntries(Object.entries(request.dimensions ?? {}).map(([k, v]) => [`dim.${k}`, String(v)])),
    };
    const q = parseDataQuery(stream, canonicalQueryParams(stream, params, now), now);
    for (const f of q.fields) {
      if (!isNumeric(stream, f)) throw refuse(['analyses'], `'${f}' is ${stream.schema[f]?.type}: the analyses need number or integer fields`);
    }
    const [rows, binned] = await Promise.all([
      fields.length ? deps.store.query(stream, { ...q, order: 'asc', limit: MAX_ANALYSIS_POINTS + 1 }) : Promise.resolve([]),
      readStreams(stream, event, streamReads(analyses), range, now),
    ]);
    if (rows.length > MAX_ANALYSIS_POINTS) throw refuse(['timeRange'], `the range holds more than ${MAX_ANALYSIS_POINTS} points: narrow it, name one series in dimensions, or give a granularity`);
    const points = rows.map((r) => seriesPoint(r, q.fields));
    const series = new Set(rows.map((r) => JSON.stringify(r.dimensions))).size;
    return jsonResponse(200, { streamId: stream.id, start: new Date(q.start).toISOString(), end: new Date(q.end).toISOString(), granularity: q.granularity, points: points.length, series, ...analyze(points, analyses, binned) });
  };

  /** Each cross-stream read: the stream (read scope checked, 404 when unknown), its field's means per bin over the range, across its series. */
  async function readStreams(self: Stream, event: HttpEvent, reads: StreamRead[], range: Record<string, string | undefined>, now: number): Promise<Map<string, SeriesPoint[]>> {
    const out = new Map<string, SeriesPoint[]>();
    await Promise.all(
      reads.map(async (read) => {
        if (read.streamId !== self.id) requireScope(event, `read:${read.streamId}`);
        const stream = read.streamId === self.id ? self : await deps.registry.get(read.streamId);
        if (!stream) throw new StreamNotFoundError(read.streamId);
        if (!isNumeric(stream, read.field)) throw refuse(['analyses'], `'${read.field}' is not a number or integer field of stream '${read.streamId}'`);
        const q: DataQuery = parseDataQuery(stream, canonicalQueryParams(stream, { ...range, fields: read.field, granularity: read.granularity, downsamplers: 'mean' }, now), now);
        const rows = await deps.store.query(stream, { ...q, order: 'asc', limit: MAX_ANALYSIS_POINTS + 1 });
        if (rows.length > MAX_ANALYSIS_POINTS) throw refuse(['timeRange'], `stream '${read.streamId}' holds more than ${MAX_ANALYSIS_POINTS} bins in the range: take a coarser granularity`);
        out.set(streamReadKey(read), rows.map((r) => seriesPoint(r, [read.field])));
      }),
    );
    return out;
  }
}

function seriesPoint(row: Row, fields: readonly string[]): SeriesPoint {
  const values: Record<string, number | undefined> = {};
  for (const f of fields) {
    const v = row.values[f];
    values[f] = typeof v === 'number' ? v : v !== null && typeof v === 'object' && typeof (v as { mean?: unknown }).mean === 'number' ? (v as { mean: number }).mean : undefined;
  }
  return { time: row.time, values };
}
