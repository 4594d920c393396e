import * as z from 'zod';
import type { Datapoint } from '../../domain/validate-record';
import type { Batch } from './write-batch';

/**
 * Options of `DuckDbPointStore.open`, checked when the store opens.
 *
 * @example
 * const store = await DuckDbPointStore.open(path, { readers: 4, threads: 2 });
 */
export interface DuckDbPointStoreOptions {
  /** Connections that serve queries beside the one writer (default 2). */
  readers: number;
  /** DuckDB worker threads (default: DuckDB's, the number of CPUs). */
  threads?: number;
  /**
   * Appends each write's new points grouped by series instead of as they came (default true), so queries on
   * one or a few series skip most of the table; `false` only to measure the difference.
   */
  groupBySeries: boolean;
  /** Keeps the stored rollups and answers queries at a stored granularity from them (default true); `false` only to measure the difference. */
  rollups: boolean;
  /** The most pending spans (about one per series and batch written) one compactor transaction takes (default 2,000). */
  compactChunk: number;
}

export const OptionsSchema = z.strictObject({
  readers: z.number().int().min(1).max(64).default(2),
  threads: z.number().int().min(1).max(256).optional(),
  groupBySeries: z.boolean().default(true),
  rollups: z.boolean().default(true),
  compactChunk: z.number().int().min(1).max(10_000_000).default(2_000),
});

/** The times each series of the batch received (fresh and suspect points), for the rollups to recompute. */
export function touchedTimes(points: Datapoint[], batch: Batch): Map<number, number[]> {
  const times = new Map<number, number[]>();
  const add = (indexes: number[], sids: number[]) =>
    indexes.forEach((i, k) => {
      const sid = sids[k]!;
      let list = times.get(sid);
      if (!list) times.set(sid, (list = []));
      list.push(points[i]!.time);
    });
  add(batch.fresh, batch.freshSeries);
  add(batch.suspects, batch.suspectSeries);
  return times;
}

