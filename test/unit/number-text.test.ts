import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numberText } from '../../shared/aws/timestream-point-store';

describe('numberText', () => {
  it('writes readings with a few decimals as short decimal text', () => {
    expect([16.25, -0.05, 0.5, 99.99, 1081, -12, 0.0001].map(numberText)).toEqual(['16.25', '-0.05', '0.5', '99.99', '1081', '-12', '0.0001']);
  });

  it('parses back to exactly the same double, whatever the double', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => Object.is(Number(numberText(x)), x) || (x === 0 && Number(numberText(x)) === 0)), { numRuns: 20_000 });
    fc.assert(fc.property(fc.integer({ min: -2e9, max: 2e9 }), fc.integer({ min: 1, max: 6 }), (m, k) => {
      const x = m / 10 ** k;
      return Number(numberText(x)) === x;
    }), { numRuns: 20_000 });
  });
});
