import { BadRequestError, StreamNotFoundError } from '../../shared/domain/errors';
import type { Stream } from '../../shared/domain/stream-definition';
import { STREAM_ID } from '../../shared/domain/stream-names';
import type { Tags } from '../../shared/domain/stream-tags';
import type { StreamRegistry } from '../../shared/ports';
import type { HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';

/** What recomputes a derived stream from its sources' whole history, a page at a time (the writer's deriver). */
export interface Backprocessor {
  /** Resolves to how many derived points were written. */
  backprocess(stream: Stream): Promise<{ points: number }>;
}

/** At most this many derived streams are recomputed per request; `more` says when others match. */
export const MAX_BACKPROCESSED_STREAMS = 100;

/**
 * `POST /v1/streams/backprocess`, the datastream document's `backprocess_streams(query_tags)`: every derived
 * stream the tags (`tags={…}`, `tag.KEY=VALUE`) or ids (`ids=a,b`) match, or every derived stream without
 * either, is recomputed from its sources' history. Answers `{streams: [{streamId, points}], more}`. A
 * deployment without a deriver answers 400.
 *
 * @example
 * const route = makeBackprocessRoute({ registry, backprocess });
 * return route({ tags: {}, ids: ['rate'] });
 */
export function makeBackprocessRoute(deps: { registry: StreamRegistry; backprocess?: Backprocessor }) {
  return async function backprocessStreams(filter: { tags: Record<string, string>; tagQuery?: Tags; ids?: string }): Promise<HttpResult> {
    if (!deps.backprocess) throw new BadRequestError('This deployment does not backprocess derived streams on request.');
    const chosen: Stream[] = [];
    let more = false;
    if (filter.ids !== undefined) {
      const ids = filter.ids.split(',').filter((id) => id !== '');
      const bad = ids.findIndex((id) => !STREAM_ID.test(id));
      if (bad >= 0 || ids.length === 0 || ids.length > MAX_BACKPROCESSED_STREAMS) {
        throw new BadRequestError('Invalid query parameters.', [{ path: ['ids'], message: `must be 1-${MAX_BACKPROCESSED_STREAMS} stream ids, comma-separated` }]);
      }
      for (const id of ids) {
        const stream = await deps.registry.get(id);
        if (!stream) throw new StreamNotFoundError(id);
        if (!stream.deriveOp) throw new BadRequestError('Invalid query parameters.', [{ path: ['ids'], message: `stream '${id}' is not a derived stream` }]);
        chosen.push(stream);
      }
    } else {
      let cursor: string | undefined;
      do {
        const page = await deps.registry.list({ tags: filter.tags, ...(filter.tagQuery && { tagQuery: filter.tagQuery }), limit: 1000, ...(cursor && { cursor }) });
        for (const s of page.streams) {
          if (!s.deriveOp) continue;
          if (chosen.length === MAX_BACKPROCESSED_STREAMS) more = true;
          else chosen.push(s);
        }
        cursor = page.nextCursor;
      } while (cursor && !more);
    }
    const streams: { streamId: string; points: number }[] = [];
    // one at a time: each pages through its sources' history with bounded memory
    for (const stream of chosen) streams.push({ streamId: stream.id, points: (await deps.backprocess.backprocess(stream)).points });
    return jsonResponse(200, { streams, more });
  };
}
