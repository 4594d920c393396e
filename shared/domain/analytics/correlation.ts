import { sampleCorrelation, sampleRankCorrelation } from 'simple-statistics';
import type { SeriesPoint } from './series';
import { twoSidedTailT } from './t-distribution';

/**
 * Correlation of two columns (Pearson or Spearman, from simple-statistics) with its n and two-sided p-value:
 * t = r·√((n − 2)/(1 − r²)) on n − 2 degrees of freedom (for Spearman the same t approximation, fair from
 * n ≈ 10). Between two fields of one stream, pairs are the points where both have a value; between two
 * streams, the bins (of one granularity) where both have a mean.
 *
 * @example
 * correlate([1, 2, 3, 4], [2, 4, 6, 8], 'pearson'); // { coefficient: 1, n: 4, pValue: 0 }
 */

export type CorrelationMethod = 'pearson' | 'spearman';

export interface CorrelationResult {
  /** The two fields; between streams, each `streamId.field`. */
  fields: [string, string];
  method: CorrelationMethod;
  coefficient: number;
  n: number;
  /** Two-sided, against no correlation; null with fewer than 3 pairs or no spread. */
  pValue: number | null;
  /** Same as n (kept for earlier clients). */
  points: number;
  /** Between streams: the two streams and the bin they were aligned on. */
  streams?: [string, string];
  granularity?: string;
}

/**
 * The coefficient, n and two-sided p-value of two equally long columns.
 *
 * @example
 * correlate([1, 2, 3], [3, 2, 1], 'spearman').coefficient; // -1
 */
export function correlate(a: readonly number[], b: readonly number[], method: CorrelationMethod): { coefficient: number; n: number; pValue: number | null } {
  const n = a.length;
  const r = n < 2 ? Number.NaN : method === 'pearson' ? sampleCorrelation([...a], [...b]) : sampleRankCorrelation([...a], [...b]);
  if (!Number.isFinite(r)) return { coefficient: 0, n, pValue: null };
  const coefficient = Math.max(-1, Math.min(1, r));
  if (n < 3) return { coefficient, n, pValue: null };
  const df = n - 2;
  const pValue = Math.abs(coefficient) >= 1 - 1e-15 ? 0 : twoSidedTailT(coefficient * Math.sqrt(df / (1 - coefficient * coefficient)), df);
  return { coefficient, n, pValue };
}

/**
 * Every pair of `fields` over the points where both have a value.
 *
 * @example
 * fieldCorrelations(points, ['temperature', 'humidity'], 'pearson'); // [{ fields: ['temperature', 'humidity'], coefficient: -1, n: 48, pValue: 0, … }]
 */
export function fieldCorrelations(points: readonly SeriesPoint[], fields: readonly string[], method: CorrelationMethod): CorrelationResult[] {
  const out: CorrelationResult[] = [];
  for (let i = 0; i < fields.length; i++) {
    for (let j = i + 1; j < fields.length; j++) {
      const [a, b] = pairs(points, fields[i]!, points, fields[j]!, false);
      const r = correlate(a, b, method);
      out.push({ fields: [fields[i]!, fields[j]!], method, ...r, points: r.n });
    }
  }
  return out;
}

/**
 * The values of `fa` in `a` and `fb` in `b` at the times both have one: per point of one series, or (`byTime`)
 * matched on time across two series (two streams' bins).
 *
 * @example
 * pairs(indoor, 'temperature', outdoor, 'temperature', true); // [[21, 22], [5, 6]]
 */
export function pairs(a: readonly SeriesPoint[], fa: string, b: readonly SeriesPoint[], fb: string, byTime: boolean): [number[], number[]] {
  const xs: number[] = [];
  const ys: number[] = [];
  const finite = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!byTime) {
    for (const p of a) {
      const x = p.values[fa];
      const y = p.values[fb];
      if (finite(x) && finite(y)) {
        xs.push(x);
        ys.push(y);
      }
    }
    return [xs, ys];
  }
  const other = new Map<number, number>();
  for (const p of b) {
    const y = p.values[fb];
    if (finite(y)) other.set(p.time, y);
  }
  for (const p of a) {
    const x = p.values[fa];
    const y = other.get(p.time);
    if (finite(x) && y !== undefined) {
      xs.push(x);
      ys.push(y);
    }
  }
  return [xs, ys];
}
