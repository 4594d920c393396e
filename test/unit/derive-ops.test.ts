import { describe, expect, it } from 'vitest';
import { counterDerivative, counterReset, deriveValues, derivative, sortedUnique, sum } from '../../shared/domain/derive-ops';

const at = (seconds: number[], values: (number | null)[]) => seconds.map((s, i) => ({ time: s * 1000, value: values[i]! }));

describe('derivative', () => {
  it('gives the per-second rate at each point after the first: 0, 10, 30 one second apart are 10 and 20', () => {
    expect(derivative(at([0, 1, 2], [0, 10, 30]))).toEqual([
      { time: 1000, value: 10 },
      { time: 2000, value: 20 },
    ]);
  });

  it('divides by the time delta in seconds, not milliseconds', () => {
    expect(derivative(at([0, 4], [0, 10]))).toEqual([{ time: 4000, value: 2.5 }]);
  });

  it('carries a null value as null and starts over after it', () => {
    expect(derivative(at([0, 1, 2, 3], [0, null, 5, 7]))).toEqual([
      { time: 1000, value: null },
      { time: 3000, value: 2 },
    ]);
  });

  it('gives no point for a zero time delta', () => {
    expect(derivative([{ time: 0, value: 1 }, { time: 0, value: 3 }])).toEqual([]);
  });
});

describe('counterReset', () => {
  it('emits 1 where the value dropped below the previous one, nothing elsewhere', () => {
    expect(counterReset(at([0, 1, 2, 3, 4], [10, 20, 30, 5, 6]))).toEqual([{ time: 3000, value: 1 }]);
  });

  it('does not count an equal value as a reset', () => {
    expect(counterReset(at([0, 1], [5, 5]))).toEqual([]);
  });
});

describe('counterDerivative', () => {
  const counter = at([0, 10, 20, 30], [10, 20, 30, 5]);

  it('wraps at maxValue: 10, 20, 30, 5 with maxValue 40 are 10/Δt, 10/Δt and (40 - 30 + 5)/Δt', () => {
    expect(counterDerivative([], counter, { maxValue: 40 })).toEqual([
      { time: 10_000, value: 1 },
      { time: 20_000, value: 1 },
      { time: 30_000, value: 1.5 },
    ]);
  });

  it('treats a drop without maxValue as a reset: no point, and the next value starts over', () => {
    expect(counterDerivative([], [...counter, { time: 40_000, value: 25 }])).toEqual([
      { time: 10_000, value: 1 },
      { time: 20_000, value: 1 },
      { time: 40_000, value: 2 },
    ]);
  });

  it('clears its state at a truthy reset point, before the counter value at the same time', () => {
    const resets = [{ time: 20_000, value: 1 }];
    expect(counterDerivative(resets, counter, { maxValue: 40 })).toEqual([
      { time: 10_000, value: 1 },
      { time: 30_000, value: 1.5 },
    ]);
  });

  it('ignores a reset point whose value is 0', () => {
    expect(counterDerivative([{ time: 20_000, value: 0 }], counter.slice(0, 3))).toEqual([
      { time: 10_000, value: 1 },
      { time: 20_000, value: 1 },
    ]);
  });
});

describe('sum', () => {
  it('adds the sources aligned on their times rounded down to the second, where every source has a value', () => {
    const a = [{ time: 1200, value: 1 }, { time: 2000, value: 2 }, { time: 3000, value: 4 }];
    const b = [{ time: 1700, value: 10 }, { time: 3500, value: 20 }];
    expect(sum([a, b])).toEqual([
      { time: 1000, value: 11 },
      { time: 3000, value: 24 },
    ]);
  });

  it('takes the last of a source\'s values within one aligned second', () => {
    expect(sum([[{ time: 1100, value: 1 }, { time: 1900, value: 5 }], [{ time: 1000, value: 1 }]])).toEqual([{ time: 1000, value: 6 }]);
  });
});

describe('deriveValues', () => {
  it('takes counter_derivative\'s reset series first and its counter second, as deriveFrom lists them', () => {
    const resets = [{ time: 20_000, value: true }];
    expect(deriveValues('counter_derivative', [{ name: 'reset', points: resets }, { points: at([0, 10, 20], [0, 10, 20]) }], {})).toEqual([{ time: 10_000, value: 1 }]);
  });

  it('sorts and keeps the first value of each time, as the store does', () => {
    expect(sortedUnique([{ time: 2, value: 1 }, { time: 1, value: 0 }, { time: 2, value: 9 }])).toEqual([
      { time: 1, value: 0 },
      { time: 2, value: 1 },
    ]);
  });
});
