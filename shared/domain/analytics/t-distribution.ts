import { gammaln } from 'simple-statistics';

/**
 * Student's t distribution's two-sided tail, for correlation p-values. simple-statistics (the library the
 * analyses use) has no t CDF, so this is the regularized incomplete beta function by its continued fraction
 * (Numerical Recipes' `betacf`, modified Lentz), on simple-statistics' `gammaln`: P(|T| ≥ t) = I_{ν/(ν+t²)}(ν/2, 1/2).
 *
 * @example
 * twoSidedTailT(2, 10); // 0.0734
 */

const EPS = 1e-14;
const TINY = 1e-300;
const MAX_ITERATIONS = 300;

function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}

/**
 * The regularized incomplete beta function I_x(a, b), for 0 ≤ x ≤ 1.
 *
 * @example
 * incompleteBeta(0.5, 1, 1); // 0.5
 */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/**
 * P(|T| ≥ |t|) for Student's t with `df` degrees of freedom.
 *
 * @example
 * twoSidedTailT(1, 1); // 0.5 (Cauchy: 1 − 2·atan(1)/π)
 */
export function twoSidedTailT(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}
