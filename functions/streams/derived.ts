import { derivedShape, MAX_DERIVE_DEPTH } from '../../shared/domain/derive-definition';
import { DerivationCycleError, InvalidOperatorArgumentsError, OutstandingDependenciesError, StreamConflictError, type Issue } from '../../shared/domain/errors';
import type { Stream, StreamInput } from '../../shared/domain/stream-definition';
import type { Clock, StreamRegistry } from '../../shared/ports';

/** A source stream changed by another request meanwhile is read again this often. */
const ATTEMPTS = 5;

/**
 * What the streams function does for derived streams: reads a new one's sources (they must exist; creating a
 * stream needs `admin`, which reads every stream), refuses cycles and nesting deeper than `MAX_DERIVE_DEPTH`,
 * fills its dimensions and schema from them, and keeps each source's `derivedBy` (what the writer feeds and a
 * delete waits for).
 *
 * @example
 * const derived = makeDerivedStreams({ registry, clock });
 * const input = await derived.resolve(parseDefinition(raw));
 */
export function makeDerivedStreams(deps: { registry: StreamRegistry; clock: Clock }) {
  const { registry, clock } = deps;

  /** How deep `stream` nests: 0 for a stream records are appended to. Throws on a cycle through `id`. */
  async function depthOf(stream: Stream, id: string | undefined, path: Set<string>): Promise<number> {
    if (!stream.deriveFrom) return 0;
    let deepest = 0;
    for (const src of stream.deriveFrom) {
      if (src.stream === id || path.has(src.stream)) throw new DerivationCycleError(`Stream '${src.stream}' is derived, through '${stream.id}', from the stream being created: derivations cannot loop.`);
      const next = await registry.get(src.stream);
      if (!next) continue;
      if (path.size >= MAX_DERIVE_DEPTH) break;
      deepest = Math.max(deepest, await depthOf(next, id, new Set([...path, stream.id])));
    }
    return deepest + 1;
  }

  /** The input of a derived stream with its sources' dimensions and schema and each source's field; any other input as it is. */
  async function resolve(input: StreamInput): Promise<StreamInput> {
    if (input.deriveOp === undefined || input.deriveFrom === undefined) return input;
    const issues: Issue[] = [];
    const sources: Stream[] = [];
    for (const [i, src] of input.deriveFrom.entries()) {
      if (src.stream === input.id) throw new DerivationCycleError(`Stream '${src.stream}' cannot be derived from itself.`, [{ path: ['deriveFrom', i, 'stream'], message: 'is the stream itself' }]);
      const stream = await registry.get(src.stream);
      if (!stream) issues.push({ path: ['deriveFrom', i, 'stream'], message: `stream '${src.stream}' does not exist` });
      else sources.push(stream);
    }
    if (issues.length) throw new InvalidOperatorArgumentsError(`A derived stream's sources must exist (${issues.map((i) => i.path.join('.')).join(', ')}).`, issues);
    for (const [i, source] of sources.entries()) {
      const depth = await depthOf(source, input.id, new Set());
      if (depth + 1 > MAX_DERIVE_DEPTH) {
        throw new DerivationCycleError(`Derived streams nest at most ${MAX_DERIVE_DEPTH} deep; '${source.id}' is ${depth} deep already.`, [{ path: ['deriveFrom', i, 'stream'], message: `is derived ${depth} deep` }]);
      }
    }
    const shape = derivedShape({ ...input, deriveOp: input.deriveOp, deriveFrom: input.deriveFrom }, sources);
    return { ...input, ...shape, schema: shape.schema as StreamInput['schema'] };
  }

  /** Changes a stream's `derivedBy` with `change`, reading it again when another request changed it meanwhile. */
  async function updateDerivedBy(sourceId: string, change: (ids: string[]) => string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const source = await registry.get(sourceId);
      if (!source) return;
      const before = source.derivedBy ?? [];
      const after = change(before);
      if (after.length === before.length && after.every((id, i) => id === before[i])) return;
      const next: Stream = { ...source, derivedBy: after, updatedAt: new Date(clock.now()).toISOString(), version: source.version + 1 };
      if (after.length === 0) delete next.derivedBy;
      try {
        await registry.update(next);
        return;
      } catch (err) {
        if (!(err instanceof StreamConflictError) || attempt >= ATTEMPTS) throw err;
      }
    }
  }

  /**
   * Names the derived stream on each of its sources, before it is created: a source whose link outlives a
   * failed create names a stream that does not exist, which the writer skips and a delete ignores.
   */
  async function link(stream: Stream): Promise<void> {
    for (const id of new Set((stream.deriveFrom ?? []).map((s) => s.stream))) await updateDerivedBy(id, (ids) => (ids.includes(stream.id) ? ids : [...ids, stream.id]));
  }

  /** Removes a deleted derived stream from its sources. */
  async function unlink(stream: Stream): Promise<void> {
    for (const id of new Set((stream.deriveFrom ?? []).map((s) => s.stream))) await updateDerivedBy(id, (ids) => ids.filter((d) => d !== stream.id));
  }

  /** A stream other (existing) streams are derived from cannot be deleted: 409 `OutstandingDependenciesError`. */
  async function checkDeletable(stream: Stream): Promise<void> {
    const live: string[] = [];
    for (const id of stream.derivedBy ?? []) if (await registry.get(id)) live.push(id);
    if (live.length) throw new OutstandingDependenciesError(stream.id, live);
  }

  return { resolve, link, unlink, checkDeletable };
}
