import { DDSketch } from '@datadog/sketches-js';
import type { Aggregates } from './query';
import { isPercentile, PERCENTILES, type QueryDownsampler } from './granularity';

/**
 * The mergeable state one rollup bin keeps for one numeric field of one series, and the downsamplers read from
 * it. Any set of bins merges into the state of their union (`mergeStates`), so a coarser bin is computed from
 * the finer ones and a query bin from the stored ones:
 * - count, sum, sum of squares (the document's `sum_squares`), min, max;
 * - `m2`, the sum of squared deviations from the bin's mean (merged by Chan's formula, so the standard
 *   deviation does not cancel catastrophically as `sumSquares - sum²/n` would);
 * - the first and last value with their times, the sum of the times (for the time mean; a `bigint`, since a
 *   month of epoch-ms times overflows a double's exact range);
 * - a DDSketch (`SKETCH_RELATIVE_ACCURACY`): bucket counts keyed `p<k>` (positive values), `n<k>` (negative)
 *   and `z` (zero), with the keys of `@datadog/sketches-js`'s logarithmic mapping. Buckets merge by adding counts.
 *
 * @example
 * const bin = rollupOf([{ time: t, value: 20.5 }, { time: t + 1000, value: 21 }]);
 * aggregatesOf(mergeStates([bin, other]), ['mean', 'p95']);
 */

/** Percentiles read from a rollup are within this relative error of the exact (nearest-rank) value. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;

const mapping = new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY }).mapping;
/** The smallest magnitude with a bucket of its own; smaller values count as zero (DDSketch's rule). */
export const SKETCH_MIN_INDEXABLE = mapping.minPossible;
/** `key(v) = ceil(log2(|v|) * SKETCH_LOG2_MULTIPLIER)`: the mapping's keys, as SQL computes them too. */
export const SKETCH_LOG2_MULTIPLIER = Math.LN2 / Math.log1p((2 * SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY));

export interface BinState {
  count: number;
  /** `null` when the bin has no value of the field (its points all lack it): as SQL's `sum` of nothing. */
  sum: number | null;
  sumSquares: number | null;
  m2: number;
  min: number | null;
  max: number | null;
  firstTime: number | null;
  firstValue: number | null;
  lastTime: number | null;
  lastValue: number | null;
  timeSum: bigint;
  sketch: Record<string, number>;
}

/** The bucket of a value in the sketch. */
export function sketchBucket(value: number): string {
  if (value > SKETCH_MIN_INDEXABLE) return `p${mapping.key(value)}`;
  if (value < -SKETCH_MIN_INDEXABLE) return `n${mapping.key(-value)}`;
  return 'z';
}

/**
 * The reference downsampler: a bin's state computed straight from its points (those without a value count in
 * nothing but still make the bin exist).
 */
export function rollupOf(points: readonly { time: number; value: number | null }[]): BinState {
  const state = emptyState();
  const values: number[] = [];
  for (const { time, value } of points) {
    if (value === null) continue;
    values.push(value);
    state.count++;
    state.sum = (state.sum ?? 0) + value;
    state.sumSquares = (state.sumSquares ?? 0) + value * value;
    state.min = state.min === null ? value : Math.min(state.min, value);
    state.max = state.max === null ? value : Math.max(state.max, value);
    if (state.firstTime === null || time < state.firstTime) [state.firstTime, state.firstValue] = [time, value];
    if (state.lastTime === null || time > state.lastTime) [state.lastTime, state.lastValue] = [time, value];
    state.timeSum += BigInt(time);
    const bucket = sketchBucket(value);
    state.sketch[bucket] = (state.sketch[bucket] ?? 0) + 1;
  }
  if (state.count > 0) {
    const mean = state.sum! / state.count;
    state.m2 = values.reduce((acc, v) => acc + (v - mean) ** 2, 0);
  }
  return state;
}

/** The state of the union of the bins (Chan's pairwise formula for `m2`). */
export function mergeStates(states: readonly BinState[]): BinState {
  const out = emptyState();
  for (const s of states) {
    if (s.count > 0) {
      const n = out.count + s.count;
      const delta = s.sum! / s.count - (out.count > 0 ? out.sum! / out.count : 0);
      out.m2 = out.count > 0 ? out.m2 + s.m2 + (delta * delta * out.count * s.count) / n : s.m2;
      out.count = n;
      out.sum = (out.sum ?? 0) + s.sum!;
      out.sumSquares = (out.sumSquares ?? 0) + s.sumSquares!;
      out.min = out.min === null ? s.min : Math.min(out.min, s.min!);
      out.max = out.max === null ? s.max : Math.max(out.max, s.max!);
      if (out.firstTime === null || s.firstTime! < out.firstTime) [out.firstTime, out.firstValue] = [s.firstTime, s.firstValue];
      if (out.lastTime === null || s.lastTime! > out.lastTime) [out.lastTime, out.lastValue] = [s.lastTime, s.lastValue];
    }
    out.timeSum += s.timeSum;
    for (const [k, c] of Object.entries(s.sketch)) out.sketch[k] = (out.sketch[k] ?? 0) + c;
  }
  return out;
}

/**
 * The nearest-rank percentile the sketch holds: the bucket of the `ceil(p·n)`-th smallest value, answered as
 * that bucket's representative, within `SKETCH_RELATIVE_ACCURACY` of the exact value (the rank is the one
 * SQL's `quantile_disc` takes, so the two answers differ only by the bucket's width).
 */
export function sketchQuantile(sketch: Record<string, number>, p: number): number | null {
  const buckets = Object.entries(sketch)
    .filter(([, c]) => c > 0)
    .map(([k, c]) => ({ value: k === 'z' ? 0 : k[0] === 'p' ? mapping.value(Number(k.slice(1))) : -mapping.value(Number(k.slice(1))), count: c }))
    .sort((a, b) => a.value - b.value);
  const n = buckets.reduce((acc, b) => acc + b.count, 0);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(p * n));
  let seen = 0;
  for (const b of buckets) {
    seen += b.count;
    if (seen >= rank) return b.value;
  }
  return buckets[buckets.length - 1]!.value;
}

/** The downsamplers a rollup answers (every stored one but `trend`, which needs the points). */
export const canRollupAnswer = (d: QueryDownsampler): boolean => d !== 'trend';

/** A bin's answer for the asked downsamplers, as the raw query answers it (`count` 0 and nulls for a bin without values). */
export function aggregatesOf(state: BinState, downsamplers: readonly QueryDownsampler[]): Aggregates {
  const out: Aggregates = {};
  for (const d of downsamplers) {
    if (isPercentile(d)) out[d] = sketchQuantile(state.sketch, PERCENTILES[d]);
    else if (d === 'mean') out.mean = state.count > 0 ? state.sum! / state.count : null;
    else if (d === 'sum') out.sum = state.sum;
    else if (d === 'count') out.count = state.count;
    else if (d === 'min') out.min = state.min;
    else if (d === 'max') out.max = state.max;
    else if (d === 'first') out.first = state.firstValue;
    else if (d === 'last') out.last = state.lastValue;
    else if (d === 'stddev') out.stddev = state.count > 1 ? Math.sqrt(Math.max(0, state.m2) / (state.count - 1)) : null;
  }
  return out;
}

export function emptyState(): BinState {
  return { count: 0, sum: null, sumSquares: null, m2: 0, min: null, max: null, firstTime: null, firstValue: null, lastTime: null, lastValue: null, timeSum: 0n, sketch: {} };
}

/** One stored bin: a series' (its dimension values) field at a level, from `bin` to the level's next bin. */
export interface RollupBin {
  bin: number;
  dimensions: Record<string, string>;
  field: string;
  state: BinState;
}
