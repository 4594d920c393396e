/**
 * The datastream document's derive operators as pure functions over one series' points, in time order, as the
 * reference implementation (wlanslovenija/datastream, the MongoDB backend) defines them. The writer runs them
 * over a span it reads back from the store (`functions/writer/derive.ts`), so they keep no state between calls:
 * the same sorted points always give the same derived points.
 *
 * @example
 * derivative([{ time: 0, value: 0 }, { time: 1000, value: 10 }, { time: 2000, value: 30 }]);
 * // [{ time: 1000, value: 10 }, { time: 2000, value: 20 }]
 */

/** The operators of the document, by its names. */
export const DERIVE_OPS = ['sum', 'derivative', 'counter_reset', 'counter_derivative'] as const;
export type DeriveOp = (typeof DERIVE_OPS)[number];

export const isDeriveOp = (op: unknown): op is DeriveOp => typeof op === 'string' && (DERIVE_OPS as readonly string[]).includes(op);

/** One source value at a time (epoch ms); `null` where the source point has no value. */
export interface SeriesPoint {
  time: number;
  value: number | boolean | string | null;
}

/** One derived value; `null` is carried where the source's value was null (`derivative`). */
export interface DerivedValue {
  time: number;
  value: number | null;
}

/** The arguments an operator takes (`deriveArgs`): only `counter_derivative` has one. */
export interface DeriveArgs {
  /** `counter_derivative`: the counter's largest value; a smaller value after a larger one wrapped around it. */
  maxValue?: number;
}

/** The time the sum aligns its sources on: the document's highest granularity, a second. */
export const SUM_ALIGN_MS = 1000;

const numeric = (v: SeriesPoint['value']): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Per second: `(v - v0) / (t - t0)` at each point after the first. A null value is carried as null and starts
 * over (the next value has no predecessor); a zero time delta gives no point.
 *
 * @example
 * derivative([{ time: 0, value: 0 }, { time: 2000, value: 10 }]); // [{ time: 2000, value: 5 }]
 */
export function derivative(points: readonly SeriesPoint[]): DerivedValue[] {
  const out: DerivedValue[] = [];
  let prev: { time: number; value: number } | undefined;
  for (const p of points) {
    if (!numeric(p.value)) {
      if (p.value === null) out.push({ time: p.time, value: null });
      prev = undefined;
      continue;
    }
    if (prev && p.time !== prev.time) out.push({ time: p.time, value: (p.value - prev.value) / ((p.time - prev.time) / 1000) });
    prev = { time: p.time, value: p.value };
  }
  return out;
}

/**
 * 1 at each point whose value is below the previous one (the counter was reset); nothing elsewhere. A null
 * value starts over.
 *
 * @example
 * counterReset([{ time: 0, value: 10 }, { time: 1000, value: 3 }]); // [{ time: 1000, value: 1 }]
 */
export function counterReset(points: readonly SeriesPoint[]): DerivedValue[] {
  const out: DerivedValue[] = [];
  let prev: number | undefined;
  for (const p of points) {
    if (!numeric(p.value)) {
      prev = undefined;
      continue;
    }
    if (prev !== undefined && prev > p.value) out.push({ time: p.time, value: 1 });
    prev = p.value;
  }
  return out;
}

/**
 * The rate of a monotonically increasing counter, per second. A value below the previous one wrapped at
 * `maxValue` (`maxValue - v0 + v`), or without `maxValue` was a reset (no point, the next value starts over).
 * A truthy value of the reset stream at a time clears the state before the counter's value at that time.
 *
 * @example
 * counterDerivative([], [{ time: 0, value: 30 }, { time: 1000, value: 5 }], { maxValue: 40 }); // [{ time: 1000, value: 15 }]
 */
export function counterDerivative(resets: readonly SeriesPoint[], data: readonly SeriesPoint[], args: DeriveArgs = {}): DerivedValue[] {
  const out: DerivedValue[] = [];
  let prev: { time: number; value: number } | undefined;
  let r = 0;
  for (const p of data) {
    // resets at or before this time come first: a reset at the counter's time clears what came before it
    while (r < resets.length && resets[r]!.time <= p.time) {
      if (resets[r]!.value) prev = undefined;
      r++;
    }
    if (!numeric(p.value)) {
      prev = undefined;
      continue;
    }
    if (prev && p.time !== prev.time) {
      let delta = p.value - prev.value;
      if (prev.value > p.value) delta = args.maxValue === undefined ? Number.NaN : args.maxValue - prev.value + p.value;
      if (!Number.isNaN(delta)) out.push({ time: p.time, value: delta / ((p.time - prev.time) / 1000) });
    }
    prev = { time: p.time, value: p.value };
  }
  return out;
}

/**
 * The sum of several series aligned on their times rounded down to `alignMs`: a time gets a point when every
 * source has a numeric value in it (the last of a source's values in one aligned time counts).
 *
 * @example
 * sum([[{ time: 1200, value: 1 }], [{ time: 1700, value: 2 }]]); // [{ time: 1000, value: 3 }]
 */
export function sum(sources: readonly (readonly SeriesPoint[])[], alignMs = SUM_ALIGN_MS): DerivedValue[] {
  if (sources.length === 0) return [];
  const aligned = sources.map((points) => {
    const at = new Map<number, number>();
    for (const p of points) if (numeric(p.value)) at.set(Math.floor(p.time / alignMs) * alignMs, p.value);
    return at;
  });
  const out: DerivedValue[] = [];
  for (const [time, first] of aligned[0]!) {
    let total = first;
    let complete = true;
    for (let s = 1; s < aligned.length && complete; s++) {
      const v = aligned[s]!.get(time);
      if (v === undefined) complete = false;
      else total += v;
    }
    if (complete) out.push({ time, value: total });
  }
  return out.sort((a, b) => a.time - b.time);
}

/** One source's points for `deriveValues`, with the name its `deriveFrom` entry gives (`reset`). */
export interface NamedSeries {
  name?: string;
  points: readonly SeriesPoint[];
}

/**
 * Runs an operator over its sources' points (each sorted by time, one value per time), in `deriveFrom`'s
 * order: `counter_derivative` takes the reset series first, the counter second.
 *
 * @example
 * deriveValues('derivative', [{ points }], {});
 */
export function deriveValues(op: DeriveOp, sources: readonly NamedSeries[], args: DeriveArgs): DerivedValue[] {
  switch (op) {
    case 'derivative':
      return derivative(sources[0]?.points ?? []);
    case 'counter_reset':
      return counterReset(sources[0]?.points ?? []);
    case 'counter_derivative':
      return counterDerivative(sources[0]?.points ?? [], sources[1]?.points ?? [], args);
    case 'sum':
      return sum(sources.map((s) => s.points));
  }
}

/**
 * Sorts points by time and keeps the first of each time, as the store keeps them.
 *
 * @example
 * sortedUnique([{ time: 2, value: 1 }, { time: 1, value: 0 }, { time: 2, value: 9 }]); // times 1, 2 (value 1)
 */
export function sortedUnique(points: readonly SeriesPoint[]): SeriesPoint[] {
  const seen = new Set<number>();
  const out: SeriesPoint[] = [];
  for (const p of points) {
    if (seen.has(p.time)) continue;
    seen.add(p.time);
    out.push(p);
  }
  return out.sort((a, b) => a.time - b.time);
}
