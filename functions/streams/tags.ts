import { BadRequestError, StreamConflictError } from '../../shared/domain/errors';
import type { Stream } from '../../shared/domain/stream-definition';
import { checkReservedTags, mergeTags, parseTags, removeTags, TAG_KEY, type Tags } from '../../shared/domain/stream-tags';
import type { Clock, StreamRegistry } from '../../shared/ports';
import type { HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';

export interface TagRoutesDeps {
  registry: StreamRegistry;
  clock: Clock;
  /** The stream, or a `StreamNotFoundError`. */
  load(id: string): Promise<Stream>;
}

/** A tag change is read, changed, written: another change in between is retried from the new version. */
const ATTEMPTS = 5;

/**
 * The document's tag operations on `/v1/streams/{id}/tags`: `get_tags` (GET), `update_tags` (PATCH, a
 * merge), `remove_tag` (DELETE `?key=a,visualization/hidden`) and `clear_tags` (DELETE without `key`). Each
 * answers `{streamId, tags}` as they are after it.
 *
 * @example
 * const tags = makeTagRoutes({ registry, clock, load });
 * return tags.update('freezers', { visualization: { hidden: true } });
 */
export function makeTagRoutes(deps: TagRoutesDeps) {
  const { registry, clock } = deps;

  /** Applies `change` to the stream's tags and stores them (the merged tags checked as a whole). */
  async function change(id: string, change: (tags: Tags) => Tags): Promise<HttpResult> {
    for (let attempt = 1; ; attempt++) {
      const stream = await deps.load(id);
      const tags = parseTags(change(stream.tags), 'tags', ['tags']);
      const next: Stream = { ...stream, tags, updatedAt: new Date(clock.now()).toISOString(), version: stream.version + 1 };
      try {
        await registry.update(next);
        return answer(next);
      } catch (err) {
        if (!(err instanceof StreamConflictError) || attempt === ATTEMPTS) throw err;
      }
    }
  }

  return {
    async get(id: string): Promise<HttpResult> {
      return answer(await deps.load(id));
    },
    update(id: string, body: unknown): Promise<HttpResult> {
      const update = parseTags(body, 'tags');
      return change(id, (tags) => mergeTags(tags, update));
    },
    remove(id: string, params: Record<string, string | undefined>): Promise<HttpResult> {
      const paths = tagPaths(params);
      return change(id, (tags) => (paths === undefined ? {} : removeTags(tags, paths)));
    },
  };
}

const answer = (stream: Stream) => jsonResponse(200, { streamId: stream.id, tags: stream.tags });

/**
 * The `key` parameter of a removal: comma-separated tag paths, nested keys joined by `/`
 * (`andmore,visualization/hidden`); absent, every tag goes. Other parameters are refused, so a misspelt
 * `key` cannot clear every tag.
 */
function tagPaths(params: Record<string, string | undefined>): string[][] | undefined {
  const other = Object.keys(params).filter((k) => k !== 'key');
  if (other.length > 0) throw new BadRequestError('Invalid query parameters.', other.map((k) => ({ path: [k], message: "is not a parameter of this route: 'key' names the tags to remove" })));
  if (params.key === undefined) return undefined;
  const paths = params.key.split(',').map((p) => p.split('/'));
  const issues = paths.flatMap((p, i) => (p.every((k) => TAG_KEY.test(k)) ? [] : [{ path: ['key', i], message: 'each tag path is keys of 1-64 of A-Z a-z 0-9 _ . : -, nested ones joined by /' }]));
  if (issues.length > 0) throw new BadRequestError('Invalid query parameters.', issues);
  // removing a reserved name is refused as setting one is (the document checks remove_tag's tags too)
  checkReservedTags(Object.fromEntries(paths.map((p) => [p[0]!, null])), ['key']);
  return paths;
}
