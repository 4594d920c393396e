import { BadRequestError } from '../../shared/domain/errors';
import { checkSummary, summarize, summaryParams } from '../../shared/domain/field-summary';
import { parseDataQuery, type Row } from '../../shared/domain/query';
import { canonicalQueryParams } from '../../shared/domain/query-dialect';
import type { Stream } from '../../shared/domain/stream-definition';
import type { Clock, PointStore } from '../../shared/ports';
import type { HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';

/** Points one summary may read: past it, narrow the range or name a series. */
export const MAX_SUMMARY_POINTS = 200_000;

/** The answer's own keys: a field of the same name is answered only under `values`. */
const ENVELOPE = new Set(['streamId', 'granularity', 'points', 'nextCursor', 'start', 'end', 'rawPoints', 'aggregation']);

/**
 * `GET /v1/streams/{id}/data?timeRange=1d&aggregation.productionCount=sum&aggregation.qualityStatus=mode`:
 * the documents' per-field aggregation over the whole range (`shared/domain/field-summary.ts`), answered as a
 * query of one bin (`granularity: "all"`, one point at the range's start) and, as the document's code reads
 * them (`data.productionCount`), with each field's value at the top level too.
 *
 * @example
 * const summary = makeSummary({ store, clock, shape });
 * await summary(stream, params); // 200 { streamId, granularity: 'all', points: [{ time, values: { productionCount: 5120 } }], rawPoints: 1440, productionCount: 5120, … }
 */
export function makeSummary(deps: { store: PointStore; clock: Clock; shape: (stream: Stream, row: Row) => { values: Record<string, unknown> } }) {
  return async function summary(stream: Stream, params: Record<string, string | undefined>): Promise<HttpResult | undefined> {
    const given = summaryParams(params);
    if (!given) return undefined;
    const spec = checkSummary(stream, given);
    const rest = Object.fromEntries(Object.entries(params).filter(([k]) => !k.startsWith('aggregation.')));
    const now = deps.clock.now();
    // raw points: a stream's default query (its processing.frequency) does not apply to a summary
    const q = parseDataQuery(stream, canonicalQueryParams(stream, { ...rest, granularity: 'raw', fields: Object.keys(spec).join(',') }, now), now);
    const rows = await deps.store.query(stream, { ...q, order: 'asc', limit: MAX_SUMMARY_POINTS + 1 });
    if (rows.length > MAX_SUMMARY_POINTS) {
      throw new BadRequestError('Invalid query parameters.', [{ path: ['timeRange'], message: `the range holds more than ${MAX_SUMMARY_POINTS} points: narrow it or name one series (dim.NAME=VALUE)` }]);
    }
    const values = summarize(rows.map((r) => deps.shape(stream, r) as { values: Record<string, never> }), spec);
    const top = Object.fromEntries(Object.entries(values).filter(([k]) => !ENVELOPE.has(k)));
    const start = new Date(q.start).toISOString();
    return jsonResponse(200, { ...top, streamId: stream.id, granularity: 'all', points: [{ time: start, values }], start, end: new Date(q.end).toISOString(), rawPoints: rows.length, aggregation: spec });
  };
}
