import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMIT,
  DEFAULT_WINDOW_MS,
  GRANULARITIES,
  MAX_LIMIT,
  decodeCursor,
  encodeCursor,
  nextCursor,
  parseDataQuery,
  parseLatestQuery,
  type Row,
} from '../../shared/domain/query';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import { issuesOf } from '../fixtures/domain';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function makeStream(definition: Record<string, unknown>): Stream {
  return newStream(parseStreamInput({ name: 'Freezers', type: 'iot_sensor', ...definition }), new Date(NOW), () => 'k3x9qa');
}

const freezers = makeStream({
  schema: {
    deviceId: { type: 'string', required: true },
    zone: { type: 'integer' },
    timestamp: { type: 'datetime' },
    temperature: { type: 'number' },
    count: { type: 'integer' },
    status: { type: 'string' },
    open: { type: 'boolean' },
  },
  dimensions: ['deviceId', 'zone'],
});
const query = (params: Record<string, string | undefined>) => parseDataQuery(freezers, params, NOW);


const issuesQ = (fn: () => unknown) => issuesOf(fn, 'Invalid query parameters.');
const pathsOf = (fn: () => unknown) => issuesQ(fn).map((i) => i.path);

describe('parseDataQuery: defaults', () => {
  it('asks for the last 24 hours of raw measures, 1000 rows, oldest first, keyed by every dimension', () => {
    expect(query({})).toEqual({
      start: NOW - DEFAULT_WINDOW_MS,
      end: NOW,
      fields: ['temperature', 'count', 'status', 'open'],
      granularity: 'raw',
      binMs: 0,
      downsamplers: [],
      filters: {},
      keyDimensions: ['deviceId', 'zone'],
      groupBy: [],
      limit: DEFAULT_LIMIT,
      order: 'asc',
    });
    expect(DEFAULT_LIMIT).toBe(1000);
    expect(DEFAULT_WINDOW_MS).toBe(86_400_000);
  });

  it('starts 24 hours before an explicit end', () => {
    const q = query({ end: '2026-02-01T00:00:00Z' });
    expect([q.start, q.end]).toEqual([Date.parse('2026-01-31T00:00:00Z'), Date.parse('2026-02-01T00:00:00Z')]);
  });

  it('ends now when only a start is given', () => {
    const q = query({ start: '2026-02-01T00:00:00+01:00' });
    expect([q.start, q.end]).toEqual([Date.parse('2026-01-31T23:00:00Z'), NOW]);
  });

  it('reads start and end given as epoch milliseconds', () => {
    const q = query({ start: '1772000000000', end: '1772300000000' });
    expect([q.start, q.end]).toEqual([1_772_000_000_000, 1_772_300_000_000]);
  });
});

describe('parseDataQuery: range', () => {
  it.each([
    ['start', 'yesterday'],
    ['end', '2026-02-01'],
    ['end', '2026-02-01T00:00:00'],
    ['start', '-5'],
  ])('refuses %s=%s, naming the parameter and the accepted forms', (param, value) => {
    expect(issuesQ(() => query({ [param]: value }))).toContainEqual({ path: [param], message: 'must be an RFC 3339 date-time or epoch milliseconds' });
  });

  it('refuses a start at or after the end (the range is half-open)', () => {
    expect(issuesQ(() => query({ start: '2026-02-01T00:00:00Z', end: '2026-02-01T00:00:00Z' }))).toEqual([
      { path: ['start'], message: 'must be before end' },
    ]);
    expect(pathsOf(() => query({ start: '2026-02-02T00:00:00Z', end: '2026-02-01T00:00:00Z' }))).toEqual([['start']]);
  });

  it('accepts a range of one millisecond', () => {
    expect(query({ start: '1000', end: '1001' })).toMatchObject({ start: 1000, end: 1001 });
  });
});

describe('parseDataQuery: granularity and downsamplers', () => {
  it.each(Object.entries(GRANULARITIES))('accepts granularity %s as bins of %d ms', (granularity, binMs) => {
    expect(query({ granularity })).toMatchObject({ granularity, binMs });
  });

  it('knows exactly the documented granularities', () => {
    expect(Object.keys(GRANULARITIES)).toEqual(['1s', '10s', '30s', '1m', '5m', '10m', '15m', '1h', '6h', '1d']);
  });

  it.each(['2h', '1H', 'hour', '', 'constructor', 'toString', '__proto__'])('refuses granularity %j and lists the allowed ones', (granularity) => {
    expect(issuesQ(() => query({ granularity }))).toContainEqual({
      path: ['granularity'],
      message: 'must be raw or one of 1s, 10s, 30s, 1m, 5m, 10m, 15m, 1h, 6h, 1d, 1mo, seconds, 10seconds, minutes, 10minutes, hours, 6hours, days, months',
    });
  });

  it('defaults the downsamplers to mean, min, max and count, over the numeric measures', () => {
    expect(query({ granularity: '1h' })).toMatchObject({ downsamplers: ['mean', 'min', 'max', 'count'], fields: ['temperature', 'count'] });
  });

  it('asks for every measure when only count, first or last are wanted', () => {
    expect(query({ granularity: '1h', downsamplers: 'count,last' })).toMatchObject({
      downsamplers: ['count', 'last'],
      fields: ['temperature', 'count', 'status', 'open'],
    });
  });

  it('accepts every downsampler', () => {
    const all = 'mean,min,max,sum,count,first,last,stddev';
    expect(query({ granularity: '1m', downsamplers: all }).downsamplers).toEqual(all.split(','));
  });

  it('refuses an unknown downsampler and lists the known ones', () => {
    expect(issuesQ(() => query({ granularity: '1h', downsamplers: 'mean,median' }))).toEqual([
      { path: ['downsamplers'], message: "'median' is not one of mean, min, max, sum, count, first, last, stddev, trend, p50, p90, p95, p99" },
    ]);
  });

  it('refuses downsamplers on a raw query', () => {
    expect(issuesQ(() => query({ downsamplers: 'mean' }))).toEqual([
      { path: ['downsamplers'], message: 'applies only with a granularity other than raw' },
    ]);
  });

  it('refuses a non-numeric field with mean and says why', () => {
    expect(issuesQ(() => query({ granularity: '1h', fields: 'temperature,status', downsamplers: 'mean,count' }))).toEqual([
      { path: ['fields'], message: "'status' is string; mean need a number or integer field" },
    ]);
  });

  it('allows a non-numeric field with count, first and last', () => {
    expect(query({ granularity: '1h', fields: 'status,open', downsamplers: 'count,first,last' }).fields).toEqual(['status', 'open']);
  });

  it('refuses numeric downsamplers by default on a stream with no numeric measure', () => {
    const events = makeStream({ schema: { kind: { type: 'string' }, ok: { type: 'boolean' } } });
    const issues = issuesQ(() => parseDataQuery(events, { granularity: '1h' }, NOW));
    expect(issues.map((i) => i.path)).toEqual([['downsamplers']]);
    expect(issues[0]?.message).toMatch(/mean, min, max need a number or integer field/);
    expect(parseDataQuery(events, { granularity: '1h', downsamplers: 'count' }, NOW).fields).toEqual(['kind', 'ok']);
  });
});

describe('parseDataQuery: fields', () => {
  it('keeps the requested measures in order, trimming spaces', () => {
    expect(query({ fields: 'status, temperature' }).fields).toEqual(['status', 'temperature']);
  });

  it.each(['deviceId', 'timestamp', 'humidity'])('refuses %s, which is not a measure, listing the measures', (field) => {
    expect(issuesQ(() => query({ fields: `temperature,${field}` }))).toEqual([
      { path: ['fields'], message: `'${field}' is not a measure field of the stream (temperature, count, status, open)` },
    ]);
  });
});

describe('parseDataQuery: dimension filters and groupBy', () => {
  it('keeps one series per dim.NAME=VALUE and several for comma-separated values', () => {
    expect(query({ 'dim.deviceId': 'f1,f2', 'dim.zone': '3' }).filters).toEqual({ deviceId: ['f1', 'f2'], zone: ['3'] });
  });

  it('ignores empty values between commas', () => {
    expect(query({ 'dim.deviceId': 'f1,,f2,' }).filters).toEqual({ deviceId: ['f1', 'f2'] });
  });

  it('refuses a filter on a field that is not a dimension, listing the dimensions', () => {
    expect(issuesQ(() => query({ 'dim.status': 'ok' }))).toEqual([
      { path: ['dim.status'], message: "'status' is not a dimension of the stream (deviceId, zone)" },
    ]);
  });

  it('refuses a filter with no value or more than 100 values', () => {
    expect(pathsOf(() => query({ 'dim.deviceId': ',' }))).toEqual([['dim.deviceId']]);
    const many = Array.from({ length: 101 }, (_, i) => `d${i}`).join(',');
    expect(issuesQ(() => query({ 'dim.deviceId': many }))).toEqual([{ path: ['dim.deviceId'], message: 'needs 1 to 100 comma-separated values' }]);
    expect(query({ 'dim.deviceId': many.split(',').slice(0, 100).join(',') }).filters.deviceId).toHaveLength(100);
  });

  it('groups a downsampled query by dimensions, which become the key', () => {
    expect(query({ granularity: '1h', groupBy: 'zone,deviceId' })).toMatchObject({ groupBy: ['zone', 'deviceId'], keyDimensions: ['zone', 'deviceId'] });
  });

  it('keys a downsampled query without groupBy by nothing: one series across the stream', () => {
    expect(query({ granularity: '1h' }).keyDimensions).toEqual([]);
  });

  it('refuses groupBy on a field that is not a dimension', () => {
    expect(issuesQ(() => query({ granularity: '1h', groupBy: 'status' }))).toEqual([
      { path: ['groupBy'], message: "'status' is not a dimension of the stream (deviceId, zone)" },
    ]);
  });

  it('refuses groupBy on a raw query', () => {
    expect(issuesQ(() => query({ groupBy: 'deviceId' }))).toEqual([{ path: ['groupBy'], message: 'applies only with a granularity other than raw' }]);
  });
});

describe('parseDataQuery: limit and order', () => {
  it.each([
    ['1', 1],
    [String(MAX_LIMIT), MAX_LIMIT],
  ])('accepts limit=%s', (limit, expected) => {
    expect(query({ limit }).limit).toBe(expected);
  });

  it.each(['0', '-1', String(MAX_LIMIT + 1), '2.5', 'ten', ''])('refuses limit=%j with the bounds', (limit) => {
    expect(issuesQ(() => query({ limit }))).toEqual([{ path: ['limit'], message: `must be an integer from 1 to ${MAX_LIMIT}` }]);
  });

  it('accepts order=desc and refuses anything but asc or desc', () => {
    expect(query({ order: 'desc' }).order).toBe('desc');
    expect(issuesQ(() => query({ order: 'DESC' }))).toEqual([{ path: ['order'], message: 'must be asc or desc' }]);
  });

  it('reports every bad parameter at once', () => {
    expect(pathsOf(() => query({ limit: '0', order: 'up', granularity: '7m', fields: 'x' }))).toEqual([['granularity'], ['fields'], ['limit'], ['order']]);
  });
});

describe('cursors', () => {
  const row = (time: number, deviceId: string, zone?: string): Row => ({ time, dimensions: { deviceId, ...(zone && { zone }) }, values: {} });

  it('round-trips a cursor through encodeCursor and decodeCursor', () => {
    const cursor = { time: 1_772_366_400_123, key: ['freezer "7"', 'zone/é'] };
    expect(decodeCursor(encodeCursor(cursor), 2)).toEqual(cursor);
  });

  it('is URL-safe text', () => {
    expect(encodeCursor({ time: 1, key: ['???>>>'] })).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('gives no next cursor when the store returned at most limit rows', () => {
    const q = query({ limit: '2' });
    expect(nextCursor(q, [row(1, 'a'), row(2, 'b')])).toBeUndefined();
  });

  it('points the next page after the last row of this page, keyed by every dimension (missing ones empty)', () => {
    const q = query({ limit: '2' });
    const cursor = nextCursor(q, [row(1, 'a', '1'), row(2, 'b'), row(3, 'c', '3')]);
    expect(cursor).toBeDefined();
    expect(decodeCursor(cursor!, 2)).toEqual({ time: 2, key: ['b', ''] });
  });

  it('feeds the next cursor back into the next query as its starting point', () => {
    const q = query({ granularity: '1h', groupBy: 'deviceId', limit: '1' });
    const cursor = nextCursor(q, [row(3_600_000, 'f1'), row(7_200_000, 'f2')])!;
    expect(query({ granularity: '1h', groupBy: 'deviceId', limit: '1', cursor }).after).toEqual({ time: 3_600_000, key: ['f1'] });
  });

  it.each([
    ['garbage', 'not a cursor!'],
    ['a truncated cursor', encodeCursor({ time: 1_772_366_400_000, key: ['f1', '3'] }).slice(0, -3)],
    ['a cursor with a key of the wrong length', encodeCursor({ time: 1, key: ['f1'] })],
    ['a cursor whose time is not an integer', Buffer.from('[1.5,"f1","3"]').toString('base64url')],
    ['a cursor whose key holds a number', Buffer.from('[1,"f1",3]').toString('base64url')],
    ['a cursor that is an object', Buffer.from('{"time":1,"key":["f1","3"]}').toString('base64url')],
    ['an empty cursor', ''],
  ])('refuses %s and tells the client to start again', (_what, cursor) => {
    expect(issuesQ(() => query({ cursor }))).toEqual([{ path: ['cursor'], message: 'is not a cursor this query returned; start again without it' }]);
  });
});

describe('parseLatestQuery', () => {
  it('defaults to every measure and no filter', () => {
    expect(parseLatestQuery(freezers, {})).toEqual({ fields: ['temperature', 'count', 'status', 'open'], filters: {} });
  });

  it('keeps the requested measures and dimension filters', () => {
    expect(parseLatestQuery(freezers, { fields: 'temperature', 'dim.deviceId': 'f1,f2', limit: '5' })).toEqual({
      fields: ['temperature'],
      filters: { deviceId: ['f1', 'f2'] },
    });
  });

  it('refuses a field that is not a measure and a filter on a non-dimension, each with its parameter', () => {
    expect(issuesQ(() => parseLatestQuery(freezers, { fields: 'zone', 'dim.temperature': '3' }))).toEqual([
      { path: ['fields'], message: "'zone' is not a measure field of the stream" },
      { path: ['dim.temperature'], message: "'temperature' is not a dimension of the stream (deviceId, zone)" },
    ]);
  });
});
