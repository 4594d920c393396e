import { BadRequestError, StreamNotFoundError } from '../../shared/domain/errors';
import type { Tags } from '../../shared/domain/stream-tags';
import type { StreamRegistry } from '../../shared/ports';
import type { HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';

export interface DeleteStreamsDeps {
  registry: StreamRegistry;
  /** Deletes one stream as `DELETE /v1/streams/{id}` does; how its points went, if the deployment erases them. */
  deleteStream(id: string): Promise<'erased' | 'retained' | undefined>;
  /** The stream a stream goes with (a window stream's source), if any: listed beside it, it is deleted by its source's delete. */
  ownerOf?(id: string): Promise<string | undefined>;
}

/** At most this many streams go per request; `more` says when others match. */
export const MAX_DELETED_STREAMS = 1000;
/** Streams deleted at once. */
const CONCURRENCY = 8;

/**
 * `DELETE /v1/streams?tags=…` (or `tag.KEY=VALUE`), the datastream document's `delete_streams(query_tags)`:
 * every stream the tags match is deleted with its tokens and its points. Without tags the document
 * deletes everything; here that is a 400 (delete streams one by one, or by a tag they share). Answers
 * `{deleted, points, more}`: `points` is `erased` (locally) or `retained` (Timestream keeps them until
 * retention, unreadable), `more` that other streams still match (call again).
 *
 * @example
 * const remove = makeDeleteStreams({ registry, deleteStream });
 * return remove({ tagQuery: { site: 'lyon' } });
 */
export function makeDeleteStreams(deps: DeleteStreamsDeps) {
  return async function deleteStreams(filter: { tags: Record<string, string>; tagQuery?: Tags }): Promise<HttpResult> {
    if (Object.keys(filter.tags).length === 0 && (filter.tagQuery === undefined || Object.keys(filter.tagQuery).length === 0)) {
      throw new BadRequestError('Invalid query parameters.', [{ path: ['tags'], message: 'name the streams to delete by their tags (tags={…} or tag.KEY=VALUE): deleting every stream is not offered' }]);
    }
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await deps.registry.list({ tags: filter.tags, ...(filter.tagQuery && { tagQuery: filter.tagQuery }), limit: MAX_DELETED_STREAMS - ids.length, ...(cursor && { cursor }) });
      ids.push(...page.streams.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor && ids.length < MAX_DELETED_STREAMS);
    const deleted: string[] = [];
    let points: 'erased' | 'retained' | undefined;
    if (deps.ownerOf) {
      // a window stream listed with its source goes with the source's delete, not beside it
      const listed = new Set(ids);
      const owners = await Promise.all(ids.map((id) => deps.ownerOf!(id)));
      const owned = ids.filter((_, i) => owners[i] !== undefined && listed.has(owners[i]!));
      for (const id of owned) ids.splice(ids.indexOf(id), 1);
      deleted.push(...owned);
    }
    for (let i = 0; i < ids.length; i += CONCURRENCY) {
      await Promise.all(
        ids.slice(i, i + CONCURRENCY).map(async (id) => {
          try {
            points = (await deps.deleteStream(id)) ?? points;
            deleted.push(id);
          } catch (err) {
            if (!(err instanceof StreamNotFoundError)) throw err; // deleted meanwhile by another request
          }
        }),
      );
    }
    return jsonResponse(200, { deleted: deleted.sort(), ...(points && { points }), more: cursor !== undefined });
  };
}
