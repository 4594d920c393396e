import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishQos1, startLocal, type Local } from './harness';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

const sensors = {
  name: 'Freezers',
  type: 'iot_sensor',
  schema: {
    deviceId: { type: 'string', required: true },
    site: { type: 'string', enum: ['north', 'south'] },
    temperature: { type: 'number', unit: '°C', range: { min: -60, max: 60 }, required: true },
    door: { type: 'boolean' },
    count: { type: 'integer' },
  },
  dimensions: ['deviceId', 'site'],
};

describe('a stream created over HTTP, fed by curl-style requests and an MQTT device', () => {
  let local: Local;
  let stream: { id: string; ingestToken: string };
  // 3 devices × 10 minutes, one reading a minute over HTTP
  const httpRecords = [0, 1, 2].flatMap((d) =>
    Array.from({ length: 10 }, (_, m) => ({
      deviceId: `f${d}`,
      site: d === 2 ? 'south' : 'north',
      timestamp: iso(T0 + m * 60_000),
      temperature: -20 + d + m / 10,
      door: m % 2 === 0,
      count: m,
    })),
  );

  beforeAll(async () => {
    local = await startLocal();
    stream = await local.createStream(sensors);
  });
  afterAll(() => local?.close());

  it('creates the stream with an ingest token that is returned once', async () => {
    expect(stream.id).toMatch(/^freezers-[a-z0-9]{6}$/);
    expect(stream.ingestToken).toMatch(/^trb_/);
    const got = await local.api(`/v1/streams/${stream.id}`);
    expect(got.status).toBe(200);
    expect(got.body.ingestToken).toBeUndefined();
    expect(got.body.schema.temperature.unit).toBe('°C');
  });

  it('accepts records over HTTP with 202 once they are queued, and returns exactly them from the query API', async () => {
    const r = await local.api(`/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: httpRecords });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ accepted: 30 });
    const q = `start=${iso(T0)}&end=${iso(T0 + 3_600_000)}&limit=1000`;
    const points = await local.waitForPoints(stream.id, q, (p) => p.length === 30);
    const expected = httpRecords
      .map((rec) => ({
        time: rec.timestamp,
        dimensions: { deviceId: rec.deviceId, site: rec.site },
        values: { temperature: rec.temperature, door: rec.door, count: rec.count },
      }))
      .sort((a, b) => a.time.localeCompare(b.time) || a.dimensions.deviceId.localeCompare(b.dimensions.deviceId));
    expect(points).toEqual(expected);
  });

  it('accepts a device publishing at QoS 1 with its ingest token, filling deviceId from the login', async () => {
    const device = await local.device('f9', stream.ingestToken);
    const t = T0 + 30 * 60_000;
    const outcome = await publishQos1(device, `tributary/${stream.id}/data`, JSON.stringify([{ timestamp: iso(t), temperature: -18.25, site: 'south' }]));
    expect(outcome).toBe('acked');
    const points = await local.waitForPoints(stream.id, `start=${iso(t)}&end=${iso(t + 1)}&dim.deviceId=f9`, (p) => p.length === 1);
    expect(points).toEqual([{ time: iso(t), dimensions: { deviceId: 'f9', site: 'south' }, values: { temperature: -18.25 } }]);
  });

  it('downsamples into epoch-aligned bins with the right numbers', async () => {
    // 5-minute bins of f0: minutes 0-4 → temps -20.0..-19.6, minutes 5-9 → -19.5..-19.1
    const r = await local.api(
      `/v1/streams/${stream.id}/data?start=${iso(T0)}&end=${iso(T0 + 600_000)}&granularity=5m&fields=temperature&downsamplers=mean,min,max,sum,count,first,last&dim.deviceId=f0`,
    );
    expect(r.status).toBe(200);
    expect(r.body.granularity).toBe('5m');
    expect(r.body.points).toHaveLength(2);
    const [a, b] = r.body.points;
    expect(a.time).toBe(iso(T0));
    expect(a.values.temperature.mean).toBeCloseTo(-19.8, 10);
    expect(a.values.temperature).toMatchObject({ min: -20, max: -19.6, count: 5, first: -20, last: -19.6 });
    expect(a.values.temperature.sum).toBeCloseTo(-99, 10);
    expect(b.time).toBe(iso(T0 + 300_000));
    expect(b.values.temperature).toMatchObject({ min: -19.5, max: -19.1, count: 5 });
  });

  it('groups downsampled bins by a dimension', async () => {
    const r = await local.api(`/v1/streams/${stream.id}/data?start=${iso(T0)}&end=${iso(T0 + 600_000)}&granularity=1h&fields=temperature&downsamplers=count,max&groupBy=site`);
    expect(r.status).toBe(200);
    expect(r.body.points).toEqual([
      { time: iso(T0), dimensions: { site: 'north' }, values: { temperature: { count: 20, max: -18.1 } } },
      { time: iso(T0), dimensions: { site: 'south' }, values: { temperature: { count: 10, max: -17.1 } } },
    ]);
  });

  it('pages with limit and cursor, every point exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await local.api(`/v1/streams/${stream.id}/data?start=${iso(T0)}&end=${iso(T0 + 600_000)}&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      for (const p of r.body.points) seen.push(`${p.time}/${p.dimensions.deviceId}`);
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBe(5);
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
  });

  it('returns the newest record of each series from /latest', async () => {
    const r = await local.api(`/v1/streams/${stream.id}/latest?fields=temperature&dim.site=north`);
    expect(r.status).toBe(200);
    const byDevice = Object.fromEntries(r.body.points.map((p: any) => [p.dimensions.deviceId, p]));
    expect(Object.keys(byDevice).sort()).toEqual(['f0', 'f1']);
    expect(byDevice.f0).toEqual({ time: iso(T0 + 9 * 60_000), dimensions: { deviceId: 'f0', site: 'north' }, values: { temperature: -19.1 } });
  });

  it('reports status: points, last data, state', async () => {
    // counters are updated right after the points are written: allow that moment
    let r = await local.api(`/v1/streams/${stream.id}/status`);
    for (let i = 0; i < 50 && r.body.pointsTotal < 31; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      r = await local.api(`/v1/streams/${stream.id}/status`);
    }
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ streamId: stream.id, state: 'active', pointsTotal: 31, invalidCount: 0, rejectedCount: 0 });
    expect(typeof r.body.lastDataAt).toBe('string');
  });

  it('lists streams filtered by tag', async () => {
    const tagged = await local.createStream({ ...sensors, name: 'Tagged', tags: { team: 'cold-chain' } });
    const r = await local.api('/v1/streams?tag.team=cold-chain');
    expect(r.status).toBe(200);
    expect(r.body.streams.map((s: any) => s.id)).toEqual([tagged.id]);
  });

  it('lenient streams accept the valid records and list the invalid ones in the 202', async () => {
    const lenient = await local.createStream({ ...sensors, name: 'Lenient', validation: 'lenient' });
    const r = await local.api(`/v1/streams/${lenient.id}/data`, {
      token: lenient.ingestToken,
      body: [
        { deviceId: 'a', temperature: 1, timestamp: iso(T0) },
        { deviceId: 'a', temperature: 'warm', timestamp: iso(T0 + 1000) },
        { deviceId: 'a', temperature: 2, timestamp: iso(T0 + 2000), extra: 'ignored' },
      ],
    });
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(2);
    expect(r.body.rejected).toEqual([{ index: 1, path: ['temperature'], message: expect.stringContaining('must be a number') }]);
    const points = await local.waitForPoints(lenient.id, `start=${iso(T0)}&end=${iso(T0 + 3000)}`, (p) => p.length === 2);
    expect(points.map((p) => p.values.temperature)).toEqual([1, 2]);
  });
});
