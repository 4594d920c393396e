import { describe, expect, it } from 'vitest';
import { parseDataQuery } from '../../shared/domain/query';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';
import { documentBins, MAX_FREQUENCIES, parseDocumentDownsampling, shortKeys, valueDownsample, VALUE_DOWNSAMPLER_KEYS } from '../../shared/domain/value-downsamplers';
import { issuesOf } from '../fixtures/domain';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const make = (extra: Record<string, unknown> = {}): Stream =>
  newStream(
    parseStreamInput({ name: 'Gauges', type: 'iot_sensor', schema: { device: { type: 'string', required: true }, value: { type: 'number' }, state: { type: 'string' }, on: { type: 'boolean' } }, dimensions: ['device'], ...extra }),
    new Date(NOW),
    () => 'g1',
  );
const stream = make();
const issues = (s: Stream, params: Record<string, string>) => issuesOf(() => parseDocumentDownsampling(s, params), 'Invalid query parameters.');

describe('value downsamplers on closed-form values', () => {
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  it.each([
    ['mean', 5],
    ['sum', 40],
    ['min', 2],
    ['max', 9],
    ['sum_squares', 232],
    ['std_dev', 2],
    ['count', 8],
    ['most_often', 4],
    ['least_often', 2],
  ] as const)('%s of 2 4 4 4 5 5 7 9 is %s', (d, expected) => {
    expect(valueDownsample(d, xs)).toBe(expected);
  });

  it('counts each value for frequencies, with nothing left over', () => {
    expect(valueDownsample('frequencies', xs)).toEqual({ counts: { '2': 1, '4': 3, '5': 2, '7': 1, '9': 1 }, other: 0 });
  });

  it(`lists at most ${MAX_FREQUENCIES} distinct values, the most frequent, and counts the rest as other`, () => {
    const many = [...Array.from({ length: MAX_FREQUENCIES + 5 }, (_, i) => `v${i}`), 'v0', 'v0', 'v1'];
    const f = valueDownsample('frequencies', many) as { counts: Record<string, number>; other: number };
    expect(Object.keys(f.counts)).toHaveLength(MAX_FREQUENCIES);
    expect(f.counts.v0).toBe(3);
    expect(f.counts.v1).toBe(2);
    expect(f.other).toBe(5);
  });

  it('takes nominal values for count, most_often, least_often and frequencies; numeric ones give null', () => {
    const states = ['ok', 'warn', 'ok', 'error', 'ok', 'warn'];
    expect(valueDownsample('count', states)).toBe(6);
    expect(valueDownsample('most_often', states)).toBe('ok');
    expect(valueDownsample('least_often', states)).toBe('error');
    expect(valueDownsample('frequencies', [true, false, true])).toEqual({ counts: { true: 2, false: 1 }, other: 0 });
    expect(valueDownsample('mean', states)).toBeNull();
  });

  it('uses the document’s one-letter keys', () => {
    expect(VALUE_DOWNSAMPLER_KEYS).toEqual({ mean: 'm', sum: 's', min: 'l', max: 'u', sum_squares: 'q', std_dev: 'd', count: 'c', most_often: 'o', least_often: 'r', frequencies: 'f' });
    expect(shortKeys({ value: { mean: 1, min: 0, max: 2, sum: 3, count: 3, stddev: 1, first: 0 }, raw: 5 })).toEqual({ value: { m: 1, l: 0, u: 2, s: 3, c: 3, d: 1, first: 0 }, raw: 5 });
  });
});

describe('documentBins: value and time downsamplers per bin', () => {
  it('gives mean, first and last timestamps per hour bin, with short keys', () => {
    const q = parseDataQuery(stream, { start: '2012-07-31T00:00:00Z', end: '2012-08-01T00:00:00Z', granularity: 'hours', fields: 'value', downsamplers: 'count' }, NOW);
    const at = (iso: string, value: number) => ({ time: Date.parse(iso), dimensions: { device: 'a' }, values: { value } });
    const bins = documentBins(q, { value: ['mean', 'sum_squares'], time: ['mean', 'first', 'last'], short: true }, [at('2012-07-31T12:23:52Z', 1), at('2012-07-31T12:59:52Z', 3), at('2012-07-31T13:00:00Z', 5)]);
    expect(bins).toEqual([
      { time: Date.parse('2012-07-31T12:00:00Z'), dimensions: {}, values: { value: { m: 2, q: 10 } }, times: { m: '2012-07-31T12:41:52.000Z', a: '2012-07-31T12:23:52.000Z', z: '2012-07-31T12:59:52.000Z' } },
      { time: Date.parse('2012-07-31T13:00:00Z'), dimensions: {}, values: { value: { m: 5, q: 25 } }, times: { m: '2012-07-31T13:00:00.000Z', a: '2012-07-31T13:00:00.000Z', z: '2012-07-31T13:00:00.000Z' } },
    ]);
  });
});

describe('parseDocumentDownsampling', () => {
  it('is undefined without valueDownsamplers or timeDownsamplers', () => {
    expect(parseDocumentDownsampling(stream, { granularity: '1h' })).toBeUndefined();
  });

  it('picks the numeric fields for numeric downsamplers and every measure for nominal ones', () => {
    expect(parseDocumentDownsampling(stream, { granularity: 'hours', valueDownsamplers: 'mean,std_dev' })).toEqual({ value: ['mean', 'std_dev'], time: [], short: false, fields: ['value'] });
    expect(parseDocumentDownsampling(stream, { granularity: 'hours', valueDownsamplers: 'most_often', timeDownsamplers: 'first', keys: 'short' })).toEqual({ value: ['most_often'], time: ['first'], short: true, fields: ['value', 'state', 'on'] });
  });

  it('refuses a numeric downsampler of a nominal field, naming the field', () => {
    expect(issues(stream, { granularity: 'hours', fields: 'state', valueDownsamplers: 'mean,most_often' })).toEqual([
      { path: ['valueDownsamplers'], message: "'state' is string, nominal: it takes count, most_often, least_often, frequencies, not mean" },
    ]);
  });

  it('refuses a downsampler the stream does not keep, naming the ones it does', () => {
    const declared = make({ valueDownsamplers: ['mean', 'count'] });
    expect(declared.valueDownsamplers).toEqual(['mean', 'count']);
    expect(issues(declared, { granularity: 'hours', valueDownsamplers: 'mean,most_often' })).toEqual([{ path: ['valueDownsamplers'], message: 'the stream keeps mean, count, not most_often' }]);
  });

  it('refuses unknown names, raw granularity, both downsamplers forms and a bad keys', () => {
    expect(issues(stream, { granularity: 'raw', valueDownsamplers: 'median', timeDownsamplers: 'middle', downsamplers: 'mean', keys: 'tiny' }).map((i) => i.path[0])).toEqual([
      'keys',
      'valueDownsamplers',
      'timeDownsamplers',
      'granularity',
      'downsamplers',
    ]);
  });
});
