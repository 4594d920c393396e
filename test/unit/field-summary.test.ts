import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../shared/domain/errors';
import { checkSummary, summarize, summaryParams } from '../../shared/domain/field-summary';

const stream = {
  schema: { line: { type: 'string' }, productionCount: { type: 'integer' }, lineSpeed: { type: 'number' }, qualityStatus: { type: 'string' }, timestamp: { type: 'datetime' } },
  timeField: 'timestamp',
  dimensions: ['line'],
} as never;

describe('per-field aggregation', () => {
  it('reads aggregation.<field>=<function> parameters, and nothing when there are none', () => {
    expect(summaryParams({ timeRange: '1d', 'aggregation.productionCount': 'sum', 'aggregation.qualityStatus': 'mode' })).toEqual({ productionCount: 'sum', qualityStatus: 'mode' });
    expect(summaryParams({ aggregation: 'hourly' })).toBeUndefined();
  });

  it('sums, averages and counts each value, as the document’s getProductionMetrics reads them', () => {
    const points = [
      { values: { productionCount: 10, lineSpeed: 80, qualityStatus: 'good' } },
      { values: { productionCount: 12, lineSpeed: 90, qualityStatus: 'good' } },
      { values: { productionCount: 8, lineSpeed: 40, qualityStatus: 'error' } },
      { values: { productionCount: null, qualityStatus: 'warning' } },
    ];
    expect(summarize(points, { productionCount: 'sum', lineSpeed: 'average', qualityStatus: 'mode' })).toEqual({ productionCount: 30, lineSpeed: 70, qualityStatus: { good: 2, error: 1, warning: 1 } });
    expect(summarize(points, { lineSpeed: 'min', productionCount: 'count', qualityStatus: 'last' })).toEqual({ lineSpeed: 40, productionCount: 3, qualityStatus: 'warning' });
    expect(summarize([], { lineSpeed: 'max', qualityStatus: 'first' })).toEqual({ lineSpeed: null, qualityStatus: null });
  });

  it('counts a value named __proto__ like any other, without touching a prototype', () => {
    const out = summarize([{ values: { s: '__proto__' } }, { values: { s: '__proto__' } }], { s: 'mode' }) as { s: Record<string, number> };
    expect(Object.getOwnPropertyDescriptor(out.s, '__proto__')?.value).toBe(2);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses an unknown field, a dimension, an unknown function and a sum of strings, naming each', () => {
    try {
      checkSummary(stream, { nope: 'sum', line: 'mode', lineSpeed: 'median', qualityStatus: 'sum' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).issues.map((i) => i.path[0])).toEqual(['aggregation.nope', 'aggregation.line', 'aggregation.lineSpeed', 'aggregation.qualityStatus']);
    }
  });
});
