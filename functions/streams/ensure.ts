import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { configurationDifferences, ensuredTags } from '../../shared/domain/ensure-stream';
import { BadRequestError, InconsistentStreamConfigurationError, MultipleStreamsReturnedError, StreamConflictError } from '../../shared/domain/errors';
import type { Stream } from '../../shared/domain/stream-definition';
import { deepEqual, matchesTags, mergeTags, parseTags, type Tags } from '../../shared/domain/stream-tags';
import type { Clock, StreamRegistry } from '../../shared/ports';
import type { HttpResult } from '../commons/http';
import { jsonResponse } from '../commons/problem';
import { asPublished } from './answers';

export interface EnsureDeps {
  registry: StreamRegistry;
  clock: Clock;
  /** Parses and checks a definition as `POST /v1/streams` does, into the stream it would create. */
  prepare(raw: unknown): Promise<{ stream: Stream; idGiven: boolean }>;
  /** Creates a prepared stream as `POST /v1/streams` does, answering 201 with its ingest token. */
  create(raw: unknown, stream: Stream): Promise<HttpResult>;
}

/** A found stream whose tags another request changed meanwhile is read again this often. */
const ATTEMPTS = 5;
/** Ids of deleted streams with the same query tags are skipped this many times (`-2`, `-3`, …). */
const GENERATIONS = 20;

/**
 * `POST /v1/streams/ensure`, the datastream document's `ensure_stream`: the body is a definition, as
 * `POST /v1/streams` takes, plus `queryTags`, the tags that identify the stream. No stream has them: it
 * is created with the definition's tags and the query tags (201, with its ingest token, as a create). One
 * has them: its configuration must be the definition's (else 409 `InconsistentStreamConfiguration`, each
 * differing member listed), the definition's tags are merged into its own, and it is answered (200, no
 * token). Several have them: 409 `MultipleStreamsReturned`.
 *
 * @example
 * const ensure = makeEnsure({ registry, clock, prepare, create });
 * return ensure(JSON.parse(event.body));
 */
export function makeEnsure(deps: EnsureDeps) {
  const { registry, clock } = deps;

  /**
   * Creates the stream under an id made from its name and its query tags (unless the request gave one), so
   * that two requests ensuring the same new stream create one: the loser's create conflicts, and it reads
   * the winner's stream by that id, strongly consistent, where the tag search (DynamoDB's index, eventually
   * consistent in AWS) may not see it yet. An id a deleted stream held is never reused: the next one is tried.
   */
  async function createKeyed(body: unknown, wanted: Stream, idGiven: boolean, queryTags: Tags): Promise<HttpResult | Stream> {
    if (idGiven) return deps.create(body, wanted);
    const base = `${wanted.id.slice(0, wanted.id.lastIndexOf('-'))}-${createHash('sha256').update(canonicalize(queryTags)!).digest('hex').slice(0, 12)}`;
    for (let n = 1; n <= GENERATIONS; n++) {
      const id = n === 1 ? base : `${base}-${n}`;
      try {
        return await deps.create(body, { ...wanted, id });
      } catch (err) {
        // a device claim another stream holds is the client's conflict, not a race
        if (!(err instanceof StreamConflictError) || err.issues.length > 0) throw err;
        const found = await registry.get(id);
        if (found && matchesTags(found.tags, queryTags)) return found;
      }
    }
    throw new StreamConflictError(`The ids for these query tags (${base}, …-${GENERATIONS}) are all taken; give the stream an id.`);
  }

  return async function ensure(raw: unknown): Promise<HttpResult> {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new BadRequestError('Invalid ensure request.', [{ path: [], message: 'the body must be a stream definition with queryTags' }]);
    }
    const { queryTags: rawQuery, ...definition } = raw as Record<string, unknown>;
    if (rawQuery === undefined) throw new BadRequestError('Invalid ensure request.', [{ path: ['queryTags'], message: 'is required: the tags that identify the stream' }]);
    const queryTags = parseTags(rawQuery, 'query tags', ['queryTags']);
    if (Object.keys(queryTags).length === 0) throw new BadRequestError('Invalid ensure request.', [{ path: ['queryTags'], message: 'must hold at least one tag: no tags match every stream' }]);
    const own = (definition.tags ?? {}) as Tags;
    const body = { ...definition, tags: typeof own === 'object' && own !== null && !Array.isArray(own) ? ensuredTags(own, queryTags) : own };
    const { stream: wanted, idGiven } = await deps.prepare(body);

    for (let attempt = 1; ; attempt++) {
      const { streams } = await registry.list({ tagQuery: queryTags, limit: 2 });
      if (streams.length > 1) throw new MultipleStreamsReturnedError(streams.map((s) => s.id));
      const found = streams[0] ?? (await createKeyed(body, wanted, idGiven, queryTags));
      if (!('id' in found)) return found;
      const existing = found;
      const issues = configurationDifferences(existing, wanted, { idGiven });
      if (issues.length > 0) throw new InconsistentStreamConfigurationError(existing.id, issues);
      const tags = mergeTags(existing.tags, wanted.tags);
      if (deepEqual(tags, existing.tags)) return jsonResponse(200, asPublished(existing));
      const next: Stream = { ...existing, tags: parseTags(tags, 'tags', ['tags']), updatedAt: new Date(clock.now()).toISOString(), version: existing.version + 1 };
      try {
        await registry.update(next);
        return jsonResponse(200, asPublished(next));
      } catch (err) {
        if (!(err instanceof StreamConflictError) || attempt === ATTEMPTS) throw err;
      }
    }
  };
}
