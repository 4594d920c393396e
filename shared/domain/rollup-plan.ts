import type { DataQuery } from './query';
import { binStart, LEVEL_MS, storedLevels, type RollupLevel } from './rollup-levels';
import { canRollupAnswer } from './rollup-state';
import type { Stream } from './stream-definition';

/**
 * Which stored level answers a downsampled query exactly, if any: the coarsest level the stream stores whose
 * bins tile both the query's bins and its range (`start` and `end` on that level's bin boundaries), for
 * numeric fields and downsamplers a rollup keeps (every one but `trend`). A 6-hour query reads the hours, a
 * 10-minute one the minutes; a range or width no stored level tiles (`1s`, a start at 12:00:05) reads the raw
 * points, so an answer from a rollup is always the raw answer (percentiles within the sketch's error).
 *
 * @example
 * rollupLevelFor(stream, parseDataQuery(stream, { granularity: '6h', start, end }, now)); // '1h'
 */
export function rollupLevelFor(stream: Stream, q: DataQuery): RollupLevel | undefined {
  if (q.granularity === 'raw' || q.window !== undefined || q.binMs <= 0) return undefined;
  if (!q.downsamplers.every(canRollupAnswer)) return undefined;
  const numeric = (f: string) => stream.schema[f]?.type === 'number' || stream.schema[f]?.type === 'integer';
  if (q.fields.length === 0 || !q.fields.every(numeric)) return undefined;
  const levels = storedLevels(stream).filter((l): l is Exclude<RollupLevel, '1mo'> => l !== '1mo');
  for (const level of [...levels].reverse()) {
    const w = LEVEL_MS[level];
    if (q.binMs % w === 0 && binStart(level, q.start) === q.start && binStart(level, q.end) === q.end) return level;
  }
  return undefined;
}
