import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocal, type Local } from './harness';

/**
 * The datastream document's rounding, over HTTP: a datapoint inserted at 2012-07-31 12:23:52 falls in the 12:00
 * hour, the 07-31 day and the 2012-07 month. Queries at a stored granularity read the rollups (`source`), late
 * and redelivered points change them only as the raw points change, and downsample closes bins up to `until`.
 */
describe('stored rollups over HTTP: the July 2012 example', () => {
  let local: Local;
  let id: string;
  let token: string;
  const post = (records: unknown[]) => local.api(`/v1/streams/${id}/data`, { token, body: records });
  const data = (params: Record<string, string>) => local.api(`/v1/streams/${id}/data?${new URLSearchParams(params)}`);
  /** The answer once the compactor (every second) has recomputed the bins: until then the raw points answer. */
  const fromRollups = async (params: Record<string, string>) => {
    for (const until = Date.now() + 15_000; ; ) {
      const r = await data(params);
      if (r.body.source === 'rollup' || Date.now() > until) return r;
      await new Promise((ok) => setTimeout(ok, 100));
    }
  };

  beforeAll(async () => {
    local = await startLocal();
    ({ id, ingestToken: token } = await local.createStream({
      name: 'July 2012',
      type: 'iot_sensor',
      schema: { node: { type: 'string', required: true }, value: { type: 'number', required: true } },
      dimensions: ['node'],
      tags: { downsample: 'july' },
    }));
  });
  afterAll(() => local?.close());

  it('puts 2012-07-31T12:23:52Z in the 12:00 hour and the 07-31 day, read from the rollups', async () => {
    expect((await post([{ node: 'a', timestamp: '2012-07-31T12:23:52Z', value: 10 }, { node: 'a', timestamp: '2012-07-31T12:59:59Z', value: 20 }])).status).toBe(202);
    const hours = await local.waitForPoints(id, 'start=2012-07-31T00:00:00Z&end=2012-08-01T00:00:00Z&granularity=1h&downsamplers=mean,min,max,count', (p) => p[0]?.values.value.count === 2);
    expect(hours).toEqual([{ time: '2012-07-31T12:00:00.000Z', values: { value: { mean: 15, min: 10, max: 20, count: 2 } } }]);
    // the same answer from the raw points while the bins are pending, and from the rollups after the compactor ran
    const hourly = await fromRollups({ start: '2012-07-31T00:00:00Z', end: '2012-08-01T00:00:00Z', granularity: '1h', downsamplers: 'mean,min,max,count' });
    expect(hourly.body).toMatchObject({ source: 'rollup', points: hours });
    const days = await fromRollups({ start: '2012-07-01T00:00:00Z', end: '2012-08-01T00:00:00Z', granularity: '1d', downsamplers: 'count,first,last' });
    expect(days.body).toMatchObject({ source: 'rollup', granularity: '1d', points: [{ time: '2012-07-31T00:00:00.000Z', values: { value: { count: 2, first: 10, last: 20 } } }] });
  });

  it('takes a late point and a redelivered batch as the raw points do: the late one counts once, the repeat not at all', async () => {
    expect((await post([{ node: 'a', timestamp: '2012-07-31T12:00:00Z', value: 0 }])).status).toBe(202);
    expect((await post([{ node: 'a', timestamp: '2012-07-31T12:23:52Z', value: 10 }, { node: 'a', timestamp: '2012-07-31T12:59:59Z', value: 20 }])).status).toBe(202);
    const q = 'start=2012-07-31T12:00:00Z&end=2012-07-31T13:00:00Z&granularity=1h&downsamplers=count,sum,first,stddev';
    const [bin] = await local.waitForPoints(id, q, (p) => p[0]?.values.value.count === 3);
    expect(bin.values.value).toEqual({ count: 3, sum: 30, first: 0, stddev: 10 });
    const stored = await fromRollups(Object.fromEntries(new URLSearchParams(q)));
    expect(stored.body).toMatchObject({ source: 'rollup', points: [{ values: { value: { count: 3, sum: 30, first: 0, stddev: 10 } } }] });
    // the same query on the raw points (a range no stored level tiles) agrees
    const raw = await data({ start: '2012-07-31T12:00:00Z', end: '2012-07-31T12:59:00.500Z', granularity: '1h', downsamplers: 'count,sum' });
    expect(raw.body.source).toBe('raw');
    expect(raw.body.points[0].values.value).toEqual({ count: 2, sum: 10 });
  });

  it('combines stored hours into 6-hour bins and percentiles within the sketch’s 1%', async () => {
    const r = await fromRollups({ start: '2012-07-31T00:00:00Z', end: '2012-08-01T00:00:00Z', granularity: '6h', downsamplers: 'count,max,p50' });
    expect(r.body.source).toBe('rollup');
    expect(r.body.points).toHaveLength(1);
    expect(r.body.points[0].time).toBe('2012-07-31T12:00:00.000Z');
    expect(r.body.points[0].values.value.count).toBe(3);
    expect(Math.abs(r.body.points[0].values.value.p50 - 10)).toBeLessThanOrEqual(0.1);
  });

  it('closes the 12:00 hour at 13:00, then the day and the 2012-07 month at 2012-08-01, each once', async () => {
    const first = await local.api('/v1/streams/downsample?tag.downsample=july&until=2012-07-31T13:00:00Z', { method: 'POST' });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      streams: [{ streamId: id, until: '2012-07-31T13:00:00.000Z', levels: [{ level: '10s', bins: 3 }, { level: '1m', bins: 3 }, { level: '1h', bins: 1 }, { level: '1d', bins: 0 }, { level: '1mo', bins: 0 }] }],
      more: false,
    });
    const second = await local.api('/v1/streams/downsample?tag.downsample=july&until=2012-08-01T00:00:00Z', { method: 'POST' });
    expect(second.body.streams[0]).toEqual({ streamId: id, from: '2012-07-31T13:00:00.000Z', until: '2012-08-01T00:00:00.000Z', levels: [{ level: '10s', bins: 0 }, { level: '1m', bins: 0 }, { level: '1h', bins: 0 }, { level: '1d', bins: 1 }, { level: '1mo', bins: 1 }] });
    const again = await local.api('/v1/streams/downsample?tag.downsample=july&until=2012-08-01T00:00:00Z', { method: 'POST' });
    expect(again.body.streams[0].levels.every((l: { bins: number }) => l.bins === 0)).toBe(true);
  });

  it('answers 400 for an until that is no time, and 403 without the admin scope', async () => {
    const bad = await local.api('/v1/streams/downsample?until=yesterday', { method: 'POST' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toEqual(['until']);
    expect((await local.api('/v1/streams/downsample', { method: 'POST', token })).status).toBe(403);
  });
});
