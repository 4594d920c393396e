import { describe, expect, it } from 'vitest';
import { downsamplePoints } from '../../shared/domain/aggregate-points';
import { parseDataQuery, queryBinEnd, queryBinStart } from '../../shared/domain/query';
import { canonicalQueryParams } from '../../shared/domain/query-dialect';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import { issuesOf } from '../fixtures/domain';

/** The datastream document's `get_data(start, end, start_exclusive, end_exclusive, reverse)` on `GET …/data`. */

const NOW = Date.parse('2026-03-01T12:00:00Z');
const T = Date.parse('2012-07-31T12:23:52Z');
const stream: Stream = newStream(
  parseStreamInput({ name: 'Gauges', type: 'iot_sensor', schema: { device: { type: 'string', required: true }, value: { type: 'number' }, state: { type: 'string' } }, dimensions: ['device'] }),
  new Date(NOW),
  () => 'g1',
);
const query = (params: Record<string, string>) => parseDataQuery(stream, canonicalQueryParams(stream, params, NOW), NOW);
const issues = (params: Record<string, string>) => issuesOf(() => query(params), 'Invalid query parameters.');

describe('get_data range: start, startExclusive, end, endExclusive', () => {
  it('includes start and excludes a startExclusive (the next millisecond starts the range)', () => {
    expect(query({ start: String(T), end: String(T + 60_000) }).start).toBe(T);
    expect(query({ startExclusive: String(T), end: String(T + 60_000) }).start).toBe(T + 1);
    expect(query({ startExclusive: new Date(T).toISOString(), end: String(T + 60_000) }).start).toBe(T + 1);
  });

  it('excludes end and endExclusive alike, as the document says of both', () => {
    expect(query({ start: String(T), end: String(T + 60_000) }).end).toBe(T + 60_000);
    expect(query({ start: String(T), endExclusive: '2012-07-31T12:24:52Z' }).end).toBe(T + 60_000);
  });

  it('refuses both forms of one bound, a bad time and an empty range, naming the parameter', () => {
    expect(issues({ start: String(T), startExclusive: String(T), end: String(T + 1000) })).toEqual([{ path: ['startExclusive'], message: 'give start or startExclusive, not both' }]);
    expect(issues({ start: String(T), end: String(T + 1000), endExclusive: String(T + 1000) })).toEqual([{ path: ['endExclusive'], message: 'give end or endExclusive, not both (both exclude the end)' }]);
    expect(issues({ startExclusive: 'yesterday' })).toEqual([{ path: ['startExclusive'], message: 'must be an RFC 3339 date-time or epoch milliseconds' }]);
    expect(issues({ startExclusive: String(T), endExclusive: String(T + 1) })).toEqual([{ path: ['startExclusive'], message: 'must be before endExclusive by more than 1 ms' }]);
  });
});

describe('get_data reverse', () => {
  it('is order=desc when true, asc when false, and may repeat order when they agree', () => {
    expect(query({ reverse: 'true' }).order).toBe('desc');
    expect(query({ reverse: 'false' }).order).toBe('asc');
    expect(query({ reverse: 'true', order: 'desc' }).order).toBe('desc');
  });

  it('refuses a value other than true or false, and a reverse that contradicts order', () => {
    expect(issues({ reverse: 'yes' })).toEqual([{ path: ['reverse'], message: 'must be true or false' }]);
    expect(issues({ reverse: 'true', order: 'asc' })).toEqual([{ path: ['reverse'], message: 'contradicts order=asc; give one of them' }]);
  });
});

describe('get_data granularity names', () => {
  it.each([
    ['seconds', '1s', 1_000],
    ['10seconds', '10s', 10_000],
    ['minutes', '1m', 60_000],
    ['10minutes', '10m', 600_000],
    ['hours', '1h', 3_600_000],
    ['6hours', '6h', 21_600_000],
    ['days', '1d', 86_400_000],
    ['months', '1mo', 0],
    ['1mo', '1mo', 0],
  ])('takes the document’s %s as granularity %s (bins of %d ms; 0: calendar months)', (name, granularity, binMs) => {
    expect(query({ granularity: name })).toMatchObject({ granularity, binMs });
  });

  it('bins the document’s 2012-07-31T12:23:52Z in the 12:00 hour and the 2012-07 month', () => {
    const hours = query({ granularity: 'hours' });
    const months = query({ granularity: 'months' });
    expect(queryBinStart(hours, T)).toBe(Date.parse('2012-07-31T12:00:00Z'));
    expect(queryBinStart(months, T)).toBe(Date.parse('2012-07-01T00:00:00Z'));
    expect(queryBinEnd(months, Date.parse('2012-07-01T00:00:00Z'))).toBe(Date.parse('2012-08-01T00:00:00Z'));
    // calendar months: February of a leap year has 29 days, and a time before 1970 falls in its own month
    expect(queryBinEnd(months, Date.parse('2012-02-01T00:00:00Z'))).toBe(Date.parse('2012-03-01T00:00:00Z'));
    expect(queryBinStart(months, Date.parse('1969-12-31T23:59:59.999Z'))).toBe(Date.parse('1969-12-01T00:00:00Z'));
  });

  it('downsamples raw points into calendar months (the InfluxDB store’s path)', () => {
    const q = query({ start: '2012-06-01T00:00:00Z', end: '2012-09-01T00:00:00Z', granularity: 'months', downsamplers: 'count,sum,first,last' });
    const at = (iso: string, value: number) => ({ time: Date.parse(iso), dimensions: { device: 'd' }, values: { value, state: null } });
    const points = [at('2012-06-30T23:59:59.999Z', 1), at('2012-07-01T00:00:00Z', 2), at('2012-07-31T12:23:52Z', 3), at('2012-08-15T00:00:00Z', 4)];
    const rows = downsamplePoints({ ...q, fields: ['value'] }, points);
    expect(rows.map((r) => [new Date(r.time).toISOString(), r.values.value])).toEqual([
      ['2012-06-01T00:00:00.000Z', { count: 1, sum: 1, first: 1, last: 1 }],
      ['2012-07-01T00:00:00.000Z', { count: 2, sum: 5, first: 2, last: 3 }],
      ['2012-08-01T00:00:00.000Z', { count: 1, sum: 4, first: 4, last: 4 }],
    ]);
  });
});
