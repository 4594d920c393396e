import type { DataQuery, LatestQuery, Row } from '../domain/query';
import { rowsFromBins } from '../domain/rollup-answer';
import { binStart, storedLevels, type RollupLevel } from '../domain/rollup-levels';
import { rollupLevelFor } from '../domain/rollup-plan';
import type { RollupBin } from '../domain/rollup-state';
import type { Stream } from '../domain/stream-definition';
import type { Datapoint } from '../domain/validate-record';
import type { ClosedBins, PointStore, RollupReader, WriteResult } from '../ports';
import type { DynamoDbRollupBins } from './dynamodb-rollup-bins';

/**
 * The read side of the AWS stored rollups (the query function's store): a query at a stored granularity merges
 * the DynamoDB bins (`rowsFromBins`), any other reads the wrapped raw store (Timestream); `downsample` moves the
 * close mark. It writes no point and no bin: `RollupPointStore` (the writer's) adds that. Kept apart so the query
 * function bundles no write path.
 *
 * @example
 * const store = new RollupReadStore({ points: timestreamPointStore(config), bins: new DynamoDbRollupBins({ client, tableName }) });
 */
export class RollupReadStore implements PointStore, RollupReader {
  protected readonly points: PointStore;
  protected readonly bins: Pick<DynamoDbRollupBins, 'range' | 'moveCloseMark'>;

  constructor(options: { points: PointStore; bins: Pick<DynamoDbRollupBins, 'range' | 'moveCloseMark'> }) {
    if (!options.points || !options.bins) throw new TypeError('A rollup store needs a point store and a bin table.');
    this.points = options.points;
    this.bins = options.bins;
  }

  /** Never called: the query function writes no point; the writer's `RollupPointStore` writes points and bins. */
  write(stream: Stream, _points: Datapoint[]): Promise<WriteResult> {
    return Promise.reject(new Error(`The read side of the rollups writes nothing (stream '${stream.id}'): write through RollupPointStore.`));
  }

  async query(stream: Stream, q: DataQuery): Promise<Row[]> {
    const level = rollupLevelFor(stream, q);
    if (!level) return this.points.query(stream, q);
    return rowsFromBins(q, await this.bins.range(stream.id, level, stream.dimensions, q.start, q.end));
  }

  latest(stream: Stream, q: LatestQuery): Promise<Row[]> {
    return this.points.latest(stream, q);
  }

  sourceOf(stream: Stream, q: DataQuery): 'rollup' | 'raw' {
    return rollupLevelFor(stream, q) ? 'rollup' : 'raw';
  }

  storedRollups(stream: Stream, level: RollupLevel, start: number, end: number): Promise<RollupBin[]> {
    return this.bins.range(stream.id, level, stream.dimensions, start, end);
  }

  async closeBins(stream: Stream, until: number): Promise<ClosedBins> {
    const { previous, moved } = await this.bins.moveCloseMark(stream.id, until);
    const levels: ClosedBins['levels'] = [];
    for (const level of storedLevels(stream)) {
      if (!moved) {
        levels.push({ level, bins: 0 });
        continue;
      }
      const lo = previous === undefined ? Number.MIN_SAFE_INTEGER : binStart(level, previous);
      const bins = await this.bins.range(stream.id, level, stream.dimensions, lo, binStart(level, until));
      levels.push({ level, bins: new Set(bins.map((b) => JSON.stringify([b.bin, b.dimensions]))).size });
    }
    const mark = moved ? until : (previous ?? until);
    return { ...(previous !== undefined && { from: previous }), until: mark, levels };
  }
}
