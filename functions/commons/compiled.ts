import { compilePipeline, type CompiledPipeline } from '../../shared/domain/pipeline';
import { compileStream, type CompiledStream, type ValidateContext, type ValidationResult } from '../../shared/domain/validate-record';
import type { Stream } from '../../shared/domain/stream-definition';
import { runScriptPerRecord } from './js-sandbox';

/** Heap a pipeline's script stage may use on one batch. */
const SCRIPT_MEMORY_BYTES = 64 << 20;

/** A batch after the stream's processing stage and its validation. */
export interface PreparedBatch {
  /** The records after the processing stage: `result.indexes` point into these. */
  records: unknown[];
  /** The validation of `records`, with the processing stage's failures added (their index the batch position). */
  result: ValidationResult;
  /** Records the processing stage's filters dropped. */
  filtered: number;
  /** Whether the processing stage ran (the records are then not the batch's text as it came). */
  processed: boolean;
}

export interface CompiledStreamWithPipeline extends CompiledStream {
  readonly pipeline?: CompiledPipeline;
  /** The processing stage (if the stream has one), then validation. */
  prepare(records: readonly unknown[], ctx: ValidateContext): Promise<PreparedBatch>;
}

/**
 * Compiled validators and processing stages, one per stream, recompiled when the stream's version changes.
 * Lives as long as the function instance (one cold start), so a schema is compiled once, not once per request.
 *
 * @example
 * const compiled = compiledStreams();
 * const { records, result } = await compiled.for(stream).prepare(batch, { now, receivedAt: now });
 */
export function compiledStreams(max = 1_000) {
  const cache = new Map<string, CompiledStreamWithPipeline>();
  return {
    for(stream: Stream): CompiledStreamWithPipeline {
      const hit = cache.get(stream.id);
      if (hit && hit.stream.version === stream.version && hit.stream.updatedAt === stream.updatedAt) return hit;
      const compiled = withPipeline(compileStream(stream));
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(stream.id, compiled);
      return compiled;
    },
  };
}

function withPipeline(validator: CompiledStream): CompiledStreamWithPipeline {
  const { stream } = validator;
  const pipeline = stream.pipeline?.length
    ? compilePipeline(stream.pipeline, stream.schema, {
        runScript: (source, records, timeoutMs) => runScriptPerRecord(source, records, { timeoutMs, memoryBytes: SCRIPT_MEMORY_BYTES }),
      })
    : undefined;
  return {
    stream,
    validate: (records, ctx) => validator.validate(records, ctx),
    ...(pipeline && { pipeline }),
    async prepare(records, ctx) {
      if (!pipeline) return { records: records as unknown[], result: validator.validate(records, ctx), filtered: 0, processed: false };
      const out = await pipeline.run(records, { now: ctx.receivedAt ?? ctx.now });
      const checked = validator.validate(out.records, ctx);
      const issues = [...out.issues, ...checked.issues.map((i) => ({ ...i, index: out.origin[i.index ?? 0] }))].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
      return { records: out.records, result: { ...checked, issues, invalid: checked.invalid + out.failed }, filtered: out.dropped, processed: true };
    },
  };
}
