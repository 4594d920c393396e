import { BadRequestError } from '../../shared/domain/errors';
import { parseTimestamp } from '../../shared/domain/datetime';
import { parseTagQuery } from '../../shared/domain/stream-tags';
import type { Clock, RollupReader, StreamRegistry } from '../../shared/ports';
import { requireScope } from '../commons/auth';
import type { HttpEvent, HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';
import { tagFilters } from '../commons/tag-filters';

/** Streams closed per request; `more` says when others match. */
export const MAX_DOWNSAMPLED_STREAMS = 1000;

export interface DownsampleDeps {
  registry: StreamRegistry;
  rollups: RollupReader;
  clock: Clock;
}

/**
 * `POST /v1/streams/downsample?until=&tag.KEY=VALUE|tags={…}`, the datastream document's `downsample_streams`:
 * closes, on every stream the tags match (all streams without tags), the rollup bins that end at or before
 * `until` (default now), and answers per stream what it closed: `{streams: [{streamId, from?, until, levels:
 * [{level, bins}]}], more}`. Rollups are kept as points arrive, so closing computes nothing; it marks the
 * bins complete. Unlike the document, a point that arrives later for a closed bin is not refused (late data
 * is normal with magnetic-store writes): it updates the bin, idempotently, and the bin stays closed.
 *
 * @example
 * const downsample = makeDownsample({ registry, rollups: store, clock });
 * return downsample(event); // 200 {streams: [{streamId: 'freezers', until: '2012-08-01T00:00:00.000Z', levels: [...]}]}
 */
export function makeDownsample(deps: DownsampleDeps) {
  return async function downsample(event: HttpEvent): Promise<HttpResult> {
    requireScope(event, 'admin');
    const params = event.queryStringParameters ?? {};
    const until = params.until === undefined ? deps.clock.now() : parseTimestamp(/^-?\d+$/.test(params.until) ? Number(params.until) : params.until);
    if (until === undefined) throw new BadRequestError('Invalid query parameters.', [{ path: ['until'], message: 'must be an RFC 3339 date-time or epoch milliseconds' }]);
    const tags = tagFilters(params);
    const tagQuery = params.tags === undefined ? undefined : parseTagQuery(params.tags, ['tags']);
    const { streams, nextCursor } = await deps.registry.list({ tags, limit: MAX_DOWNSAMPLED_STREAMS, ...(tagQuery && { tagQuery }) });
    const closed = [];
    for (const stream of streams) {
      const c = await deps.rollups.closeBins(stream, until);
      closed.push({
        streamId: stream.id,
        ...(c.from !== undefined && { from: new Date(c.from).toISOString() }),
        until: new Date(c.until).toISOString(),
        levels: c.levels,
      });
    }
    return jsonResponse(200, { streams: closed, more: nextCursor !== undefined });
  };
}
