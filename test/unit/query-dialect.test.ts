import { describe, expect, it } from 'vitest';
import { canonicalQueryParams, relativeRangeMs } from '../../shared/domain/query-dialect';
import { issuesOf } from '../fixtures/domain';

const NOW = Date.parse('2026-12-03T08:00:00Z');
const plain = {};
const sensor = { defaultQuery: { granularity: '1m' as const, downsamplers: ['mean' as const] } };

describe('canonicalQueryParams (the document\'s query parameters)', () => {
  it.each([
    ['hourly', '1h'],
    ['daily', '1d'],
    ['minutely', '1m'],
    ['raw', 'raw'],
    ['15m', '15m'],
  ])('reads aggregation=%s as granularity %s', (aggregation, granularity) => {
    expect(canonicalQueryParams(plain, { aggregation }, NOW)).toEqual({ granularity });
  });

  it.each([
    ['last_24_hours', 24 * 3_600_000],
    ['last_7_days', 7 * 86_400_000],
    ['last_hour', 3_600_000],
    ['last_30_minutes', 1_800_000],
    ['7d', 7 * 86_400_000],
    ['24h', 24 * 3_600_000],
  ])('reads timeRange=%s as the range ending now', (timeRange, ms) => {
    expect(relativeRangeMs(timeRange)).toBe(ms);
    expect(canonicalQueryParams(plain, { timeRange }, NOW)).toEqual({ start: new Date(NOW - ms).toISOString() });
    expect(canonicalQueryParams(plain, { timeRange, end: '2026-01-02T00:00:00Z' }, NOW).start).toBe(new Date(Date.parse('2026-01-02T00:00:00Z') - ms).toISOString());
  });

  it('answers per window of the stream\'s default query without a granularity, raw when asked', () => {
    expect(canonicalQueryParams(sensor, {}, NOW)).toEqual({ granularity: '1m', downsamplers: 'mean' });
    expect(canonicalQueryParams(sensor, { downsamplers: 'max' }, NOW)).toEqual({ granularity: '1m', downsamplers: 'max' });
    expect(canonicalQueryParams(sensor, { aggregation: 'raw' }, NOW)).toEqual({ granularity: 'raw' });
    expect(canonicalQueryParams(sensor, { granularity: '1h' }, NOW)).toEqual({ granularity: '1h' });
  });

  it('refuses an unknown parameter, an unknown aggregation and conflicting ones, naming each', () => {
    const issues = issuesOf(() => canonicalQueryParams(plain, { colour: 'red', aggregation: 'weekly', timeRange: 'yesterday' }, NOW));
    expect(issues.map((i) => i.path)).toEqual([['colour'], ['aggregation'], ['timeRange']]);
    expect(issuesOf(() => canonicalQueryParams(plain, { aggregation: 'hourly', granularity: '1m' }, NOW))).toEqual([{ path: ['aggregation'], message: 'give aggregation or granularity, not both' }]);
    expect(issuesOf(() => canonicalQueryParams(plain, { timeRange: '7d', start: '2026-01-01T00:00:00Z' }, NOW))).toEqual([{ path: ['timeRange'], message: 'give timeRange or start, not both' }]);
    expect(issuesOf(() => canonicalQueryParams(plain, { timeRange: 'last_9999_days' }, NOW))[0]!.path).toEqual(['timeRange']);
  });
});
