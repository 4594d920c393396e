import { describe, expect, it } from 'vitest';
import { parseDataQuery } from '../../shared/domain/query';
import { canonicalQueryParams } from '../../shared/domain/query-dialect';
import { MAX_SLIDING_OVERLAP, MAX_SLIDING_WINDOWS, parseWindow, windowLength } from '../../shared/domain/query-window';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import { issuesOf } from '../fixtures/domain';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const freezers: Stream = newStream(
  parseStreamInput({
    name: 'Freezers',
    type: 'iot_sensor',
    schema: { deviceId: { type: 'string', required: true }, site: { type: 'string' }, temperature: { type: 'number' }, status: { type: 'string' } },
    dimensions: ['deviceId', 'site'],
  }),
  new Date(NOW),
  () => 'k3x9qa',
);
const query = (params: Record<string, string>) => parseDataQuery(freezers, params, NOW);
const issues = (params: Record<string, string>) => issuesOf(() => query(params), 'Invalid query parameters.');

describe('parseWindow', () => {
  it.each([
    ['tumbling:5m', { kind: 'tumbling', sizeMs: 300_000 }],
    ['tumbling:7m', { kind: 'tumbling', sizeMs: 420_000 }],
    ['sliding:5m/1m', { kind: 'sliding', sizeMs: 300_000, stepMs: 60_000 }],
    ['sliding:1h/1h', { kind: 'sliding', sizeMs: 3_600_000, stepMs: 3_600_000 }],
    ['session:10m', { kind: 'session', gapMs: 600_000 }],
    ['session:2w', { kind: 'session', gapMs: 14 * 86_400_000 }],
  ])('reads %s', (text, window) => {
    expect(parseWindow(text)).toEqual({ window });
  });

  it('reads lengths in s, m, h, d, w and y (365 days)', () => {
    expect(['30s', '5m', '2h', '1d', '1w', '1y'].map(windowLength)).toEqual([30_000, 300_000, 7_200_000, 86_400_000, 604_800_000, 31_536_000_000]);
    expect(['5', '5M', '1.5h', '-1m', 'm', ''].map(windowLength)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it.each([
    ['hopping:5m', 'must be tumbling:SIZE, sliding:SIZE/STEP or session:GAP, each a length such as 30s, 5m, 1h or 1d'],
    ['tumbling', "the size '' is not a length such as 30s, 5m, 1h or 1d"],
    ['tumbling:500ms', "the size '500ms' is not a length such as 30s, 5m, 1h or 1d"],
    ['tumbling:0s', 'the size must be from 1s to 366d; it is 0s'],
    ['session:2y', 'the gap must be from 1s to 366d; it is 2y'],
    ['sliding:5m', 'a sliding window is sliding:SIZE/STEP, e.g. sliding:5m/1m'],
    ['sliding:5m/1m/1s', 'a sliding window is sliding:SIZE/STEP, e.g. sliding:5m/1m'],
    ['sliding:1m/5m', 'the step (5m) must not be longer than the size (1m)'],
    ['sliding:5m/2m', 'the step (2m) must divide the size (5m), so that each point is in size/step windows'],
    ['sliding:1y/1s', `sliding:1y/1s puts each point in 31536000 windows; size/step may be at most ${MAX_SLIDING_OVERLAP}: take a longer step`],
  ])('refuses %s: %s', (text, message) => {
    expect(parseWindow(text)).toEqual({ message });
  });
});

describe('parseDataQuery with window', () => {
  it('reads a tumbling window as bins of its size, answered under its own name', () => {
    expect(query({ window: 'tumbling:7m' })).toMatchObject({
      granularity: 'tumbling:7m',
      binMs: 420_000,
      window: { kind: 'tumbling', sizeMs: 420_000 },
      downsamplers: ['mean', 'min', 'max', 'count'],
      fields: ['temperature'],
      keyDimensions: [],
    });
  });

  it('keys a session by its series, or by the groupBy dimensions when given; sliding windows by groupBy', () => {
    expect(query({ window: 'session:10m' })).toMatchObject({ binMs: 0, keyDimensions: ['deviceId', 'site'], groupBy: [] });
    expect(query({ window: 'session:10m', groupBy: 'site' })).toMatchObject({ keyDimensions: ['site'], groupBy: ['site'] });
    expect(query({ window: 'sliding:5m/1m', groupBy: 'site' })).toMatchObject({ binMs: 60_000, keyDimensions: ['site'] });
  });

  it('takes trend and the percentiles with a window or a granularity, on number fields only', () => {
    expect(query({ window: 'sliding:5m/1m', downsamplers: 'trend,p50,p90,p95,p99,stddev' }).downsamplers).toEqual(['trend', 'p50', 'p90', 'p95', 'p99', 'stddev']);
    expect(query({ granularity: '1h', downsamplers: 'p95' }).downsamplers).toEqual(['p95']);
    expect(issues({ window: 'tumbling:5m', fields: 'status', downsamplers: 'trend,p99' })).toEqual([{ path: ['fields'], message: "'status' is string; trend, p99 need a number or integer field" }]);
    expect(issues({ window: 'tumbling:5m', downsamplers: 'mean,mean' })).toEqual([{ path: ['downsamplers'], message: 'names a downsampler twice' }]);
  });

  it('refuses a bad window as a 400 naming the parameter, and a window with a granularity', () => {
    expect(issues({ window: 'sliding:1y/1s' })).toEqual([{ path: ['window'], message: expect.stringMatching(/^sliding:1y\/1s puts each point in 31536000 windows; .*take a longer step$/) }]);
    expect(issues({ window: 'tumbling:5m', granularity: '1h' })).toEqual([{ path: ['window'], message: 'give window or granularity, not both' }]);
    expect(issues({ window: 'tumbling:5m', groupBy: 'colour' })).toEqual([{ path: ['groupBy'], message: "'colour' is not a dimension of the stream (deviceId, site)" }]);
  });

  it(`refuses a sliding query over more than ${MAX_SLIDING_WINDOWS} windows, and takes one at the limit`, () => {
    const start = '2026-02-01T00:00:00Z';
    expect(issues({ start, end: '2026-02-03T00:00:00Z', window: 'sliding:5m/1s' })).toEqual([
      { path: ['window'], message: `the range holds 172800 windows of this step; a sliding query may compute at most ${MAX_SLIDING_WINDOWS}: narrow the range or take a longer step` },
    ]);
    const end = new Date(Date.parse(start) + MAX_SLIDING_WINDOWS * 1000).toISOString();
    expect(query({ start, end, window: 'sliding:5m/1s' }).window).toEqual({ kind: 'sliding', sizeMs: 300_000, stepMs: 1000 });
  });
});

describe('canonicalQueryParams with window', () => {
  const withDefault = { defaultQuery: { granularity: '1m' as const, downsamplers: ['mean' as const] } };

  it('lets a window replace the stream’s default query, and refuses it beside an aggregation', () => {
    expect(canonicalQueryParams(withDefault, { window: 'session:5m' }, NOW)).toEqual({ window: 'session:5m' });
    expect(canonicalQueryParams(withDefault, {}, NOW)).toEqual({ granularity: '1m', downsamplers: 'mean' });
    expect(issuesOf(() => canonicalQueryParams(withDefault, { window: 'session:5m', aggregation: 'hourly' }, NOW))).toEqual([{ path: ['aggregation'], message: 'give aggregation or window, not both' }]);
  });
});
