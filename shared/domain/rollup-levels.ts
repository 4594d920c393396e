import * as z from 'zod';

/**
 * The stored rollup levels (the datastream document's granularities kept as they arrive): every numeric field
 * of every stream is downsampled into 10-second, minute, hour, day and calendar-month bins, all in UTC and all
 * aligned as the document rounds them: 2012-07-31T12:23:52Z falls in the 12:00 hour, the 07-31 day and the
 * 2012-07 month. A stream's `highestGranularity` skips the levels finer than it.
 *
 * @example
 * binStart('1mo', Date.parse('2012-07-31T12:23:52Z')); // Date.parse('2012-07-01T00:00:00Z')
 */

export const ROLLUP_LEVELS = ['10s', '1m', '1h', '1d', '1mo'] as const;
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

/** Each fixed level's width in ms; `1mo` has none (months are 28 to 31 days). */
export const LEVEL_MS: Readonly<Record<Exclude<RollupLevel, '1mo'>, number>> = { '10s': 10_000, '1m': 60_000, '1h': 3_600_000, '1d': 86_400_000 };

/**
 * What `highestGranularity` takes: Tributary's bins or the document's names (`seconds`, `10seconds`, `minutes`,
 * `10minutes`, `hours`, `6hours`, `days`, `months`), each the finest resolution the stream's data will have.
 */
export const HIGHEST_GRANULARITIES = ['1s', '10s', '1m', '10m', '1h', '6h', '1d', '1mo', 'seconds', '10seconds', 'minutes', '10minutes', 'hours', '6hours', 'days', 'months'] as const;
export type HighestGranularity = (typeof HIGHEST_GRANULARITIES)[number];
export const HighestGranularitySchema = z.enum(HIGHEST_GRANULARITIES);

const RESOLUTION_MS: Readonly<Record<HighestGranularity, number>> = {
  '1s': 1_000,
  seconds: 1_000,
  '10s': 10_000,
  '10seconds': 10_000,
  '1m': 60_000,
  minutes: 60_000,
  '10m': 600_000,
  '10minutes': 600_000,
  '1h': 3_600_000,
  hours: 3_600_000,
  '6h': 21_600_000,
  '6hours': 21_600_000,
  '1d': 86_400_000,
  days: 86_400_000,
  '1mo': 28 * 86_400_000,
  months: 28 * 86_400_000,
};

const NOMINAL_MS: Readonly<Record<RollupLevel, number>> = { ...LEVEL_MS, '1mo': 28 * 86_400_000 };

/**
 * The levels a stream stores, finest first: those not finer than its `highestGranularity` (all of them without
 * one). A `10minutes` stream stores hours, days and months; a `months` stream only months.
 *
 * @example
 * storedLevels({ highestGranularity: 'minutes' }); // ['1m', '1h', '1d', '1mo']
 */
export function storedLevels(stream: { highestGranularity?: HighestGranularity }): RollupLevel[] {
  const finest = stream.highestGranularity === undefined ? 0 : RESOLUTION_MS[stream.highestGranularity];
  return ROLLUP_LEVELS.filter((l) => NOMINAL_MS[l] >= finest);
}

/** The level below `level` among `levels` (finest first), or `undefined` for the finest one. */
export function finerLevel(levels: readonly RollupLevel[], level: RollupLevel): RollupLevel | undefined {
  const i = levels.indexOf(level);
  return i > 0 ? levels[i - 1] : undefined;
}

/**
 * The start (epoch ms) of the bin of `level` that holds `time`: floored to the UTC epoch for fixed widths
 * (times before 1970 included), the first instant of the UTC calendar month for `1mo`.
 *
 * @example
 * binStart('1h', Date.parse('2012-07-31T12:23:52Z')); // Date.parse('2012-07-31T12:00:00Z')
 */
export function binStart(level: RollupLevel, time: number): number {
  if (level === '1mo') {
    const d = new Date(time);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  const w = LEVEL_MS[level];
  return Math.floor(time / w) * w;
}

/**
 * The end (exclusive) of the bin of `level` that starts at `start`.
 *
 * @example
 * binEnd('1mo', Date.parse('2012-02-01T00:00:00Z')); // Date.parse('2012-03-01T00:00:00Z')
 */
export function binEnd(level: RollupLevel, start: number): number {
  if (level === '1mo') {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return start + LEVEL_MS[level];
}

/** Whether `time` is the start of a bin of `level`. */
export const isBinStart = (level: RollupLevel, time: number): boolean => binStart(level, time) === time;

/**
 * The bins of each level that points at `times` touch, finest first: what a batch must recompute. Each level's
 * bins are the coarser bins of the touched bins of the level below, so a batch recomputes a bounded set.
 *
 * @example
 * touchedBins(['1h', '1d'], [t1, t2]); // [{ level: '1h', bins: [h1] }, { level: '1d', bins: [d1] }]
 */
export function touchedBins(levels: readonly RollupLevel[], times: Iterable<number>): { level: RollupLevel; bins: number[] }[] {
  const out: { level: RollupLevel; bins: number[] }[] = [];
  let previous: Iterable<number> = times;
  for (const level of levels) {
    const bins = new Set<number>();
    for (const t of previous) bins.add(binStart(level, t));
    const sorted = [...bins].sort((a, b) => a - b);
    out.push({ level, bins: sorted });
    previous = sorted;
  }
  return out;
}
