import { BadRequestError } from '../../shared/domain/errors';
import { pageOf } from '../../shared/domain/aggregate-points';
import { nextCursor, parseDataQuery, type Row } from '../../shared/domain/query';
import { canonicalQueryParams } from '../../shared/domain/query-dialect';
import type { Stream } from '../../shared/domain/stream-definition';
import { documentBins, parseDocumentDownsampling, storeDownsamplers } from '../../shared/domain/value-downsamplers';
import type { Clock, PointStore } from '../../shared/ports';
import type { HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';

/** Raw points one document-downsampled query may read: past it, narrow the range or name a series. */
export const MAX_DOCUMENT_POINTS = 200_000;

/**
 * `GET …/data?granularity=hours&valueDownsamplers=mean,most_often&timeDownsamplers=first,last&keys=short`: the
 * datastream document's value and time downsamplers (`shared/domain/value-downsamplers.ts`), computed per bin
 * from the raw points on every store (`source: "raw"`: stored rollups keep none of `most_often`, `least_often`,
 * `frequencies` or the time downsamplers). `undefined` when the query asks none of them; when it asks only mean,
 * sum, min, max or count, the parameters that ask the same of the store (`source: "rollup"` where rollups tile it).
 *
 * @example
 * const documentDownsampled = makeDocumentDownsampling({ store, clock });
 * await documentDownsampled(stream, params); // 200 { streamId, granularity: '1h', source: 'raw', points: [{ time, values: { temp: { m: 3, o: 2 } }, t: { a, z } }] }
 */
export function makeDocumentDownsampling(deps: { store: PointStore; clock: Clock }) {
  return async function documentDownsampled(stream: Stream, params: Record<string, string | undefined>): Promise<{ answer: HttpResult } | { params: Record<string, string | undefined> } | undefined> {
    const ask = parseDocumentDownsampling(stream, params);
    if (!ask) return undefined;
    const now = deps.clock.now();
    const { valueDownsamplers: _v, timeDownsamplers: _t, keys: _k, ...rest } = params;
    // mean, sum, min, max and count alone: Tributary's own downsamplers, which the store (and its rollups) answers
    const own = storeDownsamplers(ask);
    if (own) return { params: { ...rest, keys: params.keys, fields: ask.fields.join(','), downsamplers: own.join(',') } };
    // `count` stands in for the document's downsamplers: the query model checks the range, bins, fields and groups
    const q = parseDataQuery(stream, canonicalQueryParams(stream, { ...rest, fields: ask.fields.join(','), downsamplers: 'count' }, now), now);
    const raw = parseDataQuery(stream, canonicalQueryParams(stream, { ...rest, granularity: 'raw', fields: ask.fields.join(','), groupBy: undefined, cursor: undefined, limit: undefined, order: undefined, reverse: undefined }, now), now);
    const points = await deps.store.query(stream, { ...raw, order: 'asc', limit: MAX_DOCUMENT_POINTS + 1 });
    if (points.length > MAX_DOCUMENT_POINTS) {
      throw new BadRequestError('Invalid query parameters.', [{ path: ['valueDownsamplers'], message: `the range holds more than ${MAX_DOCUMENT_POINTS} points: narrow it or name one series (dim.NAME=VALUE)` }]);
    }
    const bins = documentBins(q, ask, points);
    const page = pageOf(bins as unknown as Row[], { ...q, limit: q.limit + 1 }, q.keyDimensions) as unknown as typeof bins;
    const cursor = nextCursor(q, page as unknown as Row[]);
    const out = page.slice(0, q.limit).map((b) => ({
      time: new Date(b.time).toISOString(),
      ...(Object.keys(b.dimensions).length > 0 && { dimensions: b.dimensions }),
      values: b.values,
      ...(b.times && { [ask.short ? 't' : 'times']: b.times }),
    }));
    return { answer: jsonResponse(200, { streamId: stream.id, granularity: q.granularity, source: 'raw', points: out, ...(cursor && { nextCursor: cursor }) }) };
  };
}
