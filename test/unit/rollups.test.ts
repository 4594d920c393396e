import { DDSketch } from '@datadog/sketches-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binEnd, binStart, storedLevels, touchedBins } from '../../shared/domain/rollup-levels';
import { aggregatesOf, mergeStates, rollupOf, sketchBucket, sketchQuantile, SKETCH_RELATIVE_ACCURACY } from '../../shared/domain/rollup-state';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('binStart', () => {
  it('puts 2012-07-31T12:23:52Z in the 12:00 hour, the 07-31 day and the 2012-07 month, as the document rounds', () => {
    const t = at('2012-07-31T12:23:52Z');
    expect(['10s', '1m', '1h', '1d', '1mo'].map((l) => iso(binStart(l as '1h', t)))).toEqual([
      '2012-07-31T12:23:50.000Z',
      '2012-07-31T12:23:00.000Z',
      '2012-07-31T12:00:00.000Z',
      '2012-07-31T00:00:00.000Z',
      '2012-07-01T00:00:00.000Z',
    ]);
  });

  it('ends months on calendar boundaries: a leap February, a common one, a 31-day January and December into the next year', () => {
    expect(iso(binEnd('1mo', at('2024-02-01T00:00:00Z')))).toBe('2024-03-01T00:00:00.000Z');
    expect(binEnd('1mo', at('2024-02-01T00:00:00Z')) - at('2024-02-01T00:00:00Z')).toBe(29 * 86_400_000);
    expect(binEnd('1mo', at('2023-02-01T00:00:00Z')) - at('2023-02-01T00:00:00Z')).toBe(28 * 86_400_000);
    expect(binEnd('1mo', at('2024-01-01T00:00:00Z')) - at('2024-01-01T00:00:00Z')).toBe(31 * 86_400_000);
    expect(iso(binEnd('1mo', at('2024-12-01T00:00:00Z')))).toBe('2025-01-01T00:00:00.000Z');
    expect(iso(binStart('1mo', at('2024-02-29T23:59:59.999Z')))).toBe('2024-02-01T00:00:00.000Z');
  });

  it('floors times before 1970 too', () => {
    expect(iso(binStart('1h', at('1969-12-31T23:30:00Z')))).toBe('1969-12-31T23:00:00.000Z');
    expect(iso(binStart('1mo', at('1969-12-31T23:30:00Z')))).toBe('1969-12-01T00:00:00.000Z');
  });
});

describe('storedLevels and touchedBins', () => {
  it('skips the levels finer than highestGranularity, in either spelling', () => {
    expect(storedLevels({})).toEqual(['10s', '1m', '1h', '1d', '1mo']);
    expect(storedLevels({ highestGranularity: 'minutes' })).toEqual(['1m', '1h', '1d', '1mo']);
    expect(storedLevels({ highestGranularity: '10m' })).toEqual(['1h', '1d', '1mo']);
    expect(storedLevels({ highestGranularity: 'months' })).toEqual(['1mo']);
  });

  it('lists each level\'s bins once, coarser ones from the finer ones', () => {
    const bins = touchedBins(['1h', '1mo'], [at('2024-01-31T23:10:00Z'), at('2024-02-01T00:10:00Z'), at('2024-01-31T23:50:00Z')]);
    expect(bins.map((b) => [b.level, b.bins.map(iso)])).toEqual([
      ['1h', ['2024-01-31T23:00:00.000Z', '2024-02-01T00:00:00.000Z']],
      ['1mo', ['2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z']],
    ]);
  });
});

describe('bin states', () => {
  const pointsArb = fc.array(fc.record({ time: fc.integer({ min: 0, max: 1e9 }), value: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: null }) }), { maxLength: 60 });

  it('merges any split of the points into the state of all of them', () => {
    fc.assert(
      fc.property(pointsArb, fc.nat(), (points, cut) => {
        const distinct = [...new Map(points.map((p) => [p.time, p])).values()];
        const k = distinct.length ? cut % (distinct.length + 1) : 0;
        const merged = mergeStates([rollupOf(distinct.slice(0, k)), rollupOf(distinct.slice(k))]);
        const whole = rollupOf(distinct);
        expect({ ...merged, sum: null, sumSquares: null, m2: 0 }).toEqual({ ...whole, sum: null, sumSquares: null, m2: 0 });
        for (const key of ['sum', 'sumSquares', 'm2'] as const) {
          const [a, b] = [merged[key] ?? 0, whole[key] ?? 0];
          expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(b)));
        }
      }),
    );
  });

  it('keys values as @datadog/sketches-js does, and answers nearest-rank percentiles within the stated relative error', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.constantFrom(0.5, 0.9, 0.95, 0.99), (values, p) => {
        const sketch = new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
        for (const v of values) sketch.accept(v);
        const state = rollupOf(values.map((value, i) => ({ time: i, value })));
        const positive = Object.entries(state.sketch).filter(([k]) => k.startsWith('p')).reduce((n, [, c]) => n + c, 0);
        expect(positive).toBe(sketch.store.count);
        const exact = [...values].sort((a, b) => a - b)[Math.max(1, Math.ceil(p * values.length)) - 1]!;
        expect(Math.abs(sketchQuantile(state.sketch, p)! - exact)).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY * Math.abs(exact) + 1e-300);
      }),
    );
    expect(sketchBucket(0)).toBe('z');
  });

  it('answers a bin without values as the raw query does: count 0, the rest null', () => {
    expect(aggregatesOf(rollupOf([{ time: 1, value: null }]), ['count', 'mean', 'stddev', 'p50', 'first'])).toEqual({ count: 0, mean: null, stddev: null, p50: null, first: null });
  });
});
