import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocal, type Local } from './harness';

/**
 * The datastream document's `get_data(stream_id, granularity, start, end, start_exclusive, end_exclusive,
 * reverse)` over HTTP: `startExclusive` / `endExclusive` beside `start` / `end`, and `reverse` (newest first).
 */
describe('get_data over HTTP', () => {
  let local: Local;
  let id: string;
  const data = (params: Record<string, string>) => local.api(`/v1/streams/${id}/data?${new URLSearchParams(params)}`);
  const times = (body: { points: { time: string }[] }) => body.points.map((p) => p.time);

  beforeAll(async () => {
    local = await startLocal();
    let token: string;
    ({ id, ingestToken: token } = await local.createStream({
      name: 'get_data',
      type: 'iot_sensor',
      schema: { node: { type: 'string', required: true }, value: { type: 'number', required: true } },
      dimensions: ['node'],
    }));
    const records = [0, 10, 20, 30, 40].map((s, i) => ({ node: 'a', timestamp: new Date(Date.parse('2012-07-31T12:23:00Z') + s * 1000).toISOString(), value: i + 1 }));
    expect((await local.api(`/v1/streams/${id}/data`, { token, body: records })).status).toBe(202);
    await local.waitForPoints(id, 'start=2012-07-31T00:00:00Z&end=2012-08-01T00:00:00Z', (p) => p.length === 5);
  });
  afterAll(() => local?.close());

  it('includes start and excludes startExclusive; end and endExclusive both exclude the end', async () => {
    const inclusive = await data({ start: '2012-07-31T12:23:10Z', end: '2012-07-31T12:23:40Z' });
    expect(times(inclusive.body)).toEqual(['2012-07-31T12:23:10.000Z', '2012-07-31T12:23:20.000Z', '2012-07-31T12:23:30.000Z']);
    const exclusive = await data({ startExclusive: '2012-07-31T12:23:10Z', endExclusive: '2012-07-31T12:23:40Z' });
    expect(times(exclusive.body)).toEqual(['2012-07-31T12:23:20.000Z', '2012-07-31T12:23:30.000Z']);
  });

  it('answers newest first with reverse=true, raw and downsampled, and pages in that order', async () => {
    const raw = await data({ start: '2012-07-31T12:00:00Z', end: '2012-07-31T13:00:00Z', reverse: 'true', limit: '3' });
    expect(times(raw.body)).toEqual(['2012-07-31T12:23:40.000Z', '2012-07-31T12:23:30.000Z', '2012-07-31T12:23:20.000Z']);
    const next = await data({ start: '2012-07-31T12:00:00Z', end: '2012-07-31T13:00:00Z', reverse: 'true', limit: '3', cursor: raw.body.nextCursor });
    expect(times(next.body)).toEqual(['2012-07-31T12:23:10.000Z', '2012-07-31T12:23:00.000Z']);
    const bins = await data({ start: '2012-07-31T12:23:00Z', end: '2012-07-31T12:24:00Z', granularity: '10s', downsamplers: 'sum', reverse: 'true' });
    expect(bins.body.points.map((p: { time: string; values: { value: { sum: number } } }) => [p.time.slice(11, 19), p.values.value.sum])).toEqual([
      ['12:23:40', 5],
      ['12:23:30', 4],
      ['12:23:20', 3],
      ['12:23:10', 2],
      ['12:23:00', 1],
    ]);
  });

  it('takes the document’s granularity names, and bins months by calendar month: 2012-07-31T12:23:52Z is in 2012-07', async () => {
    const hours = await data({ start: '2012-07-31T00:00:00Z', end: '2012-08-01T00:00:00Z', granularity: 'hours', downsamplers: 'count' });
    expect(hours.body).toMatchObject({ granularity: '1h', points: [{ time: '2012-07-31T12:00:00.000Z', values: { value: { count: 5 } } }] });
    const tens = await data({ start: '2012-07-31T12:23:00Z', end: '2012-07-31T12:24:00Z', granularity: '10seconds', downsamplers: 'count' });
    expect(tens.body.points).toHaveLength(5);
    const months = await data({ start: '2012-06-01T00:00:00Z', end: '2012-09-01T00:00:00Z', granularity: 'months', downsamplers: 'mean,count,first,last' });
    expect(months.status).toBe(200);
    expect(months.body).toMatchObject({ granularity: '1mo', source: 'raw', points: [{ time: '2012-07-01T00:00:00.000Z', values: { value: { mean: 3, count: 5, first: 1, last: 5 } } }] });
    const unknown = await data({ granularity: 'weeks' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toEqual(['granularity']);
  });

  it('refuses a bad reverse and both forms of a bound with problem+json naming the parameter', async () => {
    const bad = await data({ reverse: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    expect(bad.body.errors).toEqual([{ path: ['reverse'], message: 'must be true or false' }]);
    const both = await data({ start: '2012-07-31T12:00:00Z', startExclusive: '2012-07-31T12:00:00Z' });
    expect(both.status).toBe(400);
    expect(both.body.errors).toEqual([{ path: ['startExclusive'], message: 'give start or startExclusive, not both' }]);
  });
});

describe('the document’s value and time downsamplers over HTTP', () => {
  let local: Local;
  let id: string;
  let kept: string;
  const data = (stream: string, params: Record<string, string>) => local.api(`/v1/streams/${stream}/data?${new URLSearchParams(params)}`);
  const july = { start: '2012-07-31T12:00:00Z', end: '2012-07-31T13:00:00Z', granularity: 'hours' };

  beforeAll(async () => {
    local = await startLocal();
    const definition = (name: string, extra = {}) => ({
      name,
      type: 'iot_sensor',
      schema: { node: { type: 'string', required: true }, value: { type: 'number' }, state: { type: 'string' } },
      dimensions: ['node'],
      ...extra,
    });
    const records = [
      { node: 'a', timestamp: '2012-07-31T12:23:52Z', value: 2, state: 'ok' },
      { node: 'a', timestamp: '2012-07-31T12:24:52Z', value: 4, state: 'warn' },
      { node: 'b', timestamp: '2012-07-31T12:25:52Z', value: 4, state: 'ok' },
      { node: 'a', timestamp: '2012-07-31T12:26:52Z', value: 6, state: 'ok' },
    ];
    let token: string;
    ({ id, ingestToken: token } = await local.createStream(definition('downsamplers')));
    expect((await local.api(`/v1/streams/${id}/data`, { token, body: records })).status).toBe(202);
    ({ id: kept, ingestToken: token } = await local.createStream(definition('kept downsamplers', { valueDownsamplers: ['mean', 'count'] })));
    expect((await local.api(`/v1/streams/${kept}/data`, { token, body: records })).status).toBe(202);
    await local.waitForPoints(id, 'start=2012-07-31T00:00:00Z&end=2012-08-01T00:00:00Z', (p) => p.length === 4);
    await local.waitForPoints(kept, 'start=2012-07-31T00:00:00Z&end=2012-08-01T00:00:00Z', (p) => p.length === 4);
  });
  afterAll(() => local?.close());

  it('answers each value downsampler with its one-letter key, and the time downsamplers per bin, from the raw points', async () => {
    const r = await data(id, { ...july, fields: 'value', valueDownsamplers: 'mean,sum,min,max,sum_squares,std_dev,count,most_often,least_often,frequencies', timeDownsamplers: 'mean,first,last', keys: 'short' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      streamId: id,
      granularity: '1h',
      source: 'raw',
      points: [
        {
          time: '2012-07-31T12:00:00.000Z',
          values: { value: { m: 4, s: 16, l: 2, u: 6, q: 72, d: Math.sqrt(2), c: 4, o: 4, r: 2, f: { counts: { '2': 1, '4': 2, '6': 1 }, other: 0 } } },
          t: { m: '2012-07-31T12:25:22.000Z', a: '2012-07-31T12:23:52.000Z', z: '2012-07-31T12:26:52.000Z' },
        },
      ],
    });
  });

  it('gives a nominal field count, most_often, least_often and frequencies, per groupBy value, with long keys', async () => {
    const r = await data(id, { ...july, fields: 'state', valueDownsamplers: 'count,most_often,least_often,frequencies', groupBy: 'node', timeDownsamplers: 'last' });
    expect(r.body.points).toEqual([
      { time: '2012-07-31T12:00:00.000Z', dimensions: { node: 'a' }, values: { state: { count: 3, most_often: 'ok', least_often: 'warn', frequencies: { counts: { ok: 2, warn: 1 }, other: 0 } } }, times: { last: '2012-07-31T12:26:52.000Z' } },
      { time: '2012-07-31T12:00:00.000Z', dimensions: { node: 'b' }, values: { state: { count: 1, most_often: 'ok', least_often: 'ok', frequencies: { counts: { ok: 1 }, other: 0 } } }, times: { last: '2012-07-31T12:25:52.000Z' } },
    ]);
  });

  it('reads the stored rollups for mean, sum, min, max and count alone, once the compactor has run', async () => {
    const params = { ...july, fields: 'value', valueDownsamplers: 'mean,sum,min,max,count', keys: 'short' };
    let r = await data(id, params);
    for (const until = Date.now() + 15_000; r.body.source !== 'rollup' && Date.now() < until; r = await data(id, params)) await new Promise((ok) => setTimeout(ok, 100));
    expect(r.body).toMatchObject({ granularity: '1h', source: 'rollup', points: [{ time: '2012-07-31T12:00:00.000Z', values: { value: { m: 4, s: 16, l: 2, u: 6, c: 4 } } }] });
    // most_often is kept by no rollup: the same bin from the raw points
    const raw = await data(id, { ...params, valueDownsamplers: 'mean,most_often' });
    expect(raw.body).toMatchObject({ source: 'raw', points: [{ values: { value: { m: 4, o: 4 } } }] });
  });

  it('pages document-downsampled bins with limit and nextCursor', async () => {
    const params = { ...july, fields: 'state', valueDownsamplers: 'most_often', groupBy: 'node', limit: '1' };
    const first = await data(id, params);
    expect(first.body.points.map((p: { dimensions: { node: string } }) => p.dimensions.node)).toEqual(['a']);
    const second = await data(id, { ...params, cursor: first.body.nextCursor });
    expect(second.body.points.map((p: { dimensions: { node: string } }) => p.dimensions.node)).toEqual(['b']);
    expect(second.body.nextCursor).toBeUndefined();
  });

  it('gives Tributary’s downsamplers the document’s keys with keys=short', async () => {
    const r = await data(id, { ...july, fields: 'value', downsamplers: 'mean,min,max,count,first', keys: 'short' });
    expect(r.body.points[0].values).toEqual({ value: { m: 4, l: 2, u: 6, c: 4, first: 2 } });
  });

  it('refuses a numeric downsampler of a nominal field, and one the stream does not keep, naming them', async () => {
    const nominal = await data(id, { ...july, fields: 'state', valueDownsamplers: 'mean' });
    expect(nominal.status).toBe(400);
    expect(nominal.type).toContain('application/problem+json');
    expect(nominal.body.errors).toEqual([{ path: ['valueDownsamplers'], message: "'state' is string, nominal: it takes count, most_often, least_often, frequencies, not mean" }]);
    const unkept = await data(kept, { ...july, valueDownsamplers: 'mean,most_often' });
    expect(unkept.status).toBe(400);
    expect(unkept.body.errors).toEqual([{ path: ['valueDownsamplers'], message: 'the stream keeps mean, count, not most_often' }]);
    const ok = await data(kept, { ...july, fields: 'value', valueDownsamplers: 'mean,count' });
    expect(ok.body.points[0].values).toEqual({ value: { mean: 4, count: 4 } });
  });
});
