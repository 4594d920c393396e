import { analysisFields, analyze, AnalyzeRequestSchema, checkAnalyses, type SeriesPoint } from '../../shared/domain/analytics';
import { BadRequestError } from '../../shared/domain/errors';
import { parseDataQuery, type Row } from '../../shared/domain/query';
import { canonicalQueryParams } from '../../shared/domain/query-dialect';
import type { Stream } from '../../shared/domain/stream-definition';
import { toIssues } from '../../shared/domain/stream-names';
import type { Clock, PointStore } from '../../shared/ports';
import { DEFAULT_LIMITS, parseJsonBody } from '../commons/body';
import { bodyText, type HttpEvent, type HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';

/** Points one analysis request may read: past it, narrow the range, name a series or give a granularity. */
export const MAX_ANALYSIS_POINTS = 200_000;

/**
 * `POST /v1/streams/{id}/analyze`: the documents' `streams.analyze`. Reads the points of the range (raw, of the
 * series `dimensions` names, or the means per `granularity` bin) for the fields the analyses name, and answers
 * `{trends, anomalies, correlations, forecast}` (`shared/domain/analytics.ts`).
 *
 * @example
 * await analyzeRoute(stream, event); // 200 { streamId, points: 1440, trends: [{ field: 'temperature', slopePerHour: 0.02, … }], … }
 */
export function makeAnalyze(deps: { store: PointStore; clock: Clock }) {
  return async function analyzeRoute(stream: Stream, event: HttpEvent): Promise<HttpResult> {
    const parsed = AnalyzeRequestSchema.safeParse(parseJsonBody(bodyText(event), DEFAULT_LIMITS));
    if (!parsed.success) throw new BadRequestError('Invalid analysis request.', toIssues(parsed.error));
    const request = parsed.data;
    const analyses = checkAnalyses(request.analyses);
    const now = deps.clock.now();
    const params: Record<string, string | undefined> = {
      fields: analysisFields(analyses).join(','),
      ...(typeof request.timeRange === 'string' ? { timeRange: request.timeRange } : { start: request.timeRange.start, ...(request.timeRange.end && { end: request.timeRange.end }) }),
      // raw unless asked: a stream's default query (its processing.frequency) does not apply to analyses
      granularity: request.granularity ?? 'raw',
      ...(request.granularity !== undefined && request.granularity !== 'raw' && { downsamplers: 'mean' }),
      ...Object.fromEntries(Object.entries(request.dimensions ?? {}).map(([k, v]) => [`dim.${k}`, String(v)])),
    };
    const q = parseDataQuery(stream, canonicalQueryParams(stream, params, now), now);
    for (const f of q.fields) {
      const type = stream.schema[f]?.type;
      if (type !== 'number' && type !== 'integer') throw new BadRequestError('Invalid analysis request.', [{ path: ['analyses'], message: `'${f}' is ${type}: the analyses need number or integer fields` }]);
    }
    const rows = await deps.store.query(stream, { ...q, order: 'asc', limit: MAX_ANALYSIS_POINTS + 1 });
    if (rows.length > MAX_ANALYSIS_POINTS) {
      throw new BadRequestError('Invalid analysis request.', [{ path: ['timeRange'], message: `the range holds more than ${MAX_ANALYSIS_POINTS} points: narrow it, name one series in dimensions, or give a granularity` }]);
    }
    const points = rows.map((r) => seriesPoint(r, q.fields));
    const series = new Set(rows.map((r) => JSON.stringify(r.dimensions))).size;
    return jsonResponse(200, { streamId: stream.id, start: new Date(q.start).toISOString(), end: new Date(q.end).toISOString(), granularity: q.granularity, points: points.length, series, ...analyze(points, analyses) });
  };
}

function seriesPoint(row: Row, fields: readonly string[]): SeriesPoint {
  const values: Record<string, number | undefined> = {};
  for (const f of fields) {
    const v = row.values[f];
    values[f] = typeof v === 'number' ? v : v !== null && typeof v === 'object' && typeof (v as { mean?: unknown }).mean === 'number' ? (v as { mean: number }).mean : undefined;
  }
  return { time: row.time, values };
}
