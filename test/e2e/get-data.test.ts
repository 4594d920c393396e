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
