import { compileStream, type CompiledStream } from '../../shared/domain/validate-record';
import type { Stream } from '../../shared/domain/stream-definition';

/**
 * Compiled validators, one per stream, recompiled when the stream's version changes. Lives as long as
 * the function instance (one cold start), so a schema is compiled once, not once per request.
 *
 * @example
 * const compiled = compiledStreams(); compiled.for(stream).validate(records, { now });
 */
export function compiledStreams(max = 1_000) {
  const cache = new Map<string, CompiledStream>();
  return {
    for(stream: Stream): CompiledStream {
      const hit = cache.get(stream.id);
      if (hit && hit.stream.version === stream.version && hit.stream.updatedAt === stream.updatedAt) return hit;
      const compiled = compileStream(stream);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(stream.id, compiled);
      return compiled;
    },
  };
}
