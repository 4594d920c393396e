import { describe, expect, it } from 'vitest';
import { parseDataQuery } from '../../shared/domain/query';
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
