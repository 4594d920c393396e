import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startLocal, type Local } from './harness';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const definition = {
  name: 'Line',
  type: 'iot_sensor',
  schema: { device: { type: 'string', required: true }, y: { type: 'number', required: true } },
  dimensions: ['device'],
};

describe('windows in GET …/data on the local runtime, over HTTP', () => {
  let local: Local;
  let stream: { id: string; ingestToken: string };
  const range = `start=${iso(T0)}&end=${iso(T0 + 86_400_000)}`;
  const data = (query: string, end = T0 + 86_400_000) => local.api(`/v1/streams/${stream.id}/data?start=${iso(T0)}&end=${iso(end)}&${query}`);

  beforeAll(async () => {
    local = await startLocal();
    stream = await local.createStream(definition);
    // d1: the line y = 2x + 1 (x in seconds) every 10 s for 10 minutes, then two more bursts (three sessions);
    // d2: 1..100, one a second, starting at minute 20
    const line = Array.from({ length: 60 }, (_, i) => ({ device: 'd1', timestamp: iso(T0 + i * 10_000), y: 2 * i * 10 + 1 }));
    const bursts = [30, 45].flatMap((m) => Array.from({ length: 3 }, (_, i) => ({ device: 'd1', timestamp: iso(T0 + m * MIN + i * 1000), y: 0 })));
    const ranks = Array.from({ length: 100 }, (_, i) => ({ device: 'd2', timestamp: iso(T0 + 20 * MIN + i * 1000), y: 100 - i }));
    const r = await local.api(`/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: [...line, ...bursts, ...ranks] });
    expect(r.status).toBe(202);
    await local.waitForPoints(stream.id, `${range}&limit=1000`, (p) => p.length === 166);
  });
  afterAll(() => local?.close());

  it('answers a tumbling window with the trend of the line: slope 2 per second and r² 1', async () => {
    const r = await data('window=tumbling:5m&downsamplers=trend,count&dim.device=d1', T0 + 10 * MIN);
    expect(r.status).toBe(200);
    expect(r.body.granularity).toBe('tumbling:5m');
    expect(r.body.points.map((p: any) => [p.time, p.values.y.count])).toEqual([
      [iso(T0), 30],
      [iso(T0 + 5 * MIN), 30],
    ]);
    for (const p of r.body.points) {
      expect(p.values.y.trend.slope).toBeCloseTo(2, 9);
      expect(p.values.y.trend.r2).toBeCloseTo(1, 9);
    }
  });

  it('answers the percentiles of 1..100, exactly, per series with groupBy', async () => {
    const r = await data('window=tumbling:1h&downsamplers=p50,p90,p95,p99&groupBy=device&dim.device=d2');
    expect(r.body.points).toEqual([{ time: iso(T0), dimensions: { device: 'd2' }, values: { y: { p50: 50, p90: 90, p95: 95, p99: 99 } } }]);
  });

  it('answers sliding windows with their overlapping means', async () => {
    const r = await data('window=sliding:2m/1m&downsamplers=mean,count&dim.device=d1', T0 + 4 * MIN);
    // minute m holds y at x = 60m … 60m + 50: its mean is 120m + 51; two minutes, 120m + 111
    expect(r.body.points.map((p: any) => [p.time, p.values.y])).toEqual([
      [iso(T0), { mean: 111, count: 12 }],
      [iso(T0 + MIN), { mean: 231, count: 12 }],
      [iso(T0 + 2 * MIN), { mean: 351, count: 12 }],
      [iso(T0 + 3 * MIN), { mean: 411, count: 6 }],
    ]);
  });

  it('answers session windows per series with their start, end and count, and pages through them', async () => {
    const r = await data('window=session:10m&downsamplers=count&limit=2');
    expect(r.body.points).toEqual([
      { time: iso(T0), end: iso(T0 + 590_000), count: 60, dimensions: { device: 'd1' }, values: { y: { count: 60 } } },
      { time: iso(T0 + 20 * MIN), end: iso(T0 + 20 * MIN + 99_000), count: 100, dimensions: { device: 'd2' }, values: { y: { count: 100 } } },
    ]);
    const next = await data(`window=session:10m&downsamplers=count&limit=2&cursor=${r.body.nextCursor}`);
    expect(next.body.points.map((p: any) => [p.time, p.end, p.count])).toEqual([
      [iso(T0 + 30 * MIN), iso(T0 + 30 * MIN + 2000), 3],
      [iso(T0 + 45 * MIN), iso(T0 + 45 * MIN + 2000), 3],
    ]);
    expect(next.body.nextCursor).toBeUndefined();
  });

  it('writes session windows and trends as CSV columns', async () => {
    const res = await fetch(`${local.base}/v1/streams/${stream.id}/data?${range}&window=session:10m&downsamplers=trend&dim.device=d1&limit=1`, {
      headers: { authorization: `Bearer ${ADMIN}`, accept: 'text/csv' },
    });
    const [header, first] = (await res.text()).split('\r\n');
    expect(header).toBe('time,end,count,device,y.trend.slope,y.trend.r2');
    expect(first).toMatch(/^2026-01-01T00:00:00\.000Z,2026-01-01T00:09:50\.000Z,60,d1,(1\.9999\d*|2(\.0*\d*)?),(1|0\.9999\d*)$/);
  });

  it('refuses a window that would explode with a 400 naming the parameter', async () => {
    const r = await data('window=sliding:1y/1s');
    expect(r.status).toBe(400);
    expect(r.type).toBe('application/problem+json');
    expect(r.body.errors).toEqual([{ path: ['window'], message: expect.stringContaining('puts each point in 31536000 windows') }]);
    const both = await data('window=tumbling:5m&granularity=1h');
    expect(both.body.errors).toEqual([{ path: ['window'], message: 'give window or granularity, not both' }]);
  });
});
