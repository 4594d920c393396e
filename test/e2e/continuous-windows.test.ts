import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/commons/openapi';
import { openApiConformance } from '../fixtures/openapi-conformance';
import { waitForValue } from '../fixtures/waiting';
import { startLocal, type Local } from './harness';

const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const at = (s: number) => iso(T0 + s * 1000);
const range = `start=${iso(T0 - 3_600_000)}&end=${iso(T0 + 3 * 3_600_000)}&limit=1000`;

/**
 * Continuous windows (the Live Data Handler's `processing.windows`) on the local runtime: the document's two
 * windows pasted as written (tumbling 1m avg/max/min, sliding 5m/1m trend), a session window and a percentile
 * window across the stream; each is a window stream the writer fills as data arrives, queried with the data
 * API; a late point changes the window it falls in; a point between two sessions joins them; bad windows are
 * refused at the path they were written at; a window stream takes no appends and goes with its source.
 */
describe('continuous windows', () => {
  let local: Local;
  let token: string;
  const emails: string[] = [];
  const conform = openApiConformance(JSON.parse(JSON.stringify(openApiDocument())));
  const problems: string[] = [];

  async function call(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) {
    const r = await local.api(path, init);
    const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
    problems.push(...conform.check({ method, path: path.split('?')[0]!, requestBody: init.body, status: r.status, contentType: r.type, responseBody: r.body }));
    return r;
  }
  const post = (records: unknown) => call('/v1/streams/sensors/data', { token, body: records });
  const windowPoints = (id: string, until: (p: any[]) => boolean) => local.waitForPoints(id, range, until);

  beforeAll(async () => {
    local = await startLocal({ alerts: { retryIntervalMs: 5, emailLog: (line) => emails.push(line) } });
    const created = await call('/v1/streams', {
      body: {
        id: 'sensors',
        name: 'Sensors',
        type: 'iot_sensor',
        schema: { sensor_id: { type: 'string', required: true }, temperature: { type: 'number', range: [-50, 2000] } },
        processing: {
          windows: [
            { type: 'tumbling', size: '1m', metrics: ['avg', 'max', 'min'] },
            { type: 'sliding', size: '5m', slide: '1m', metrics: ['trend'] },
            { type: 'session', gap: '10m', metrics: ['count', 'avg'] },
            { name: 'fleet', type: 'tumbling', size: '1m', metrics: ['percentile', 'stddev'], percentiles: [50, 99], groupBy: [] },
          ],
        },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    token = created.body.ingestToken;
    expect(created.body.windows.map((w: { streamId: string }) => w.streamId)).toEqual(['sensors-tumbling-1m', 'sensors-sliding-5m-1m', 'sensors-session-10m', 'sensors-fleet']);
    expect(created.body.windows[1]).toMatchObject({ type: 'sliding', size: '5m', step: '1m', aggregations: ['trend'], fields: ['temperature'], groupBy: ['sensor_id'] });
  });
  afterAll(() => local?.close());

  it('writes each window as data arrives: the line y = 2x + 1 gives its minute means, a trend of slope 2 and r² 1, one session', async () => {
    // x in seconds, a reading every 10 s for 5 minutes: minute k holds x = 60k … 60k + 50
    const line = Array.from({ length: 30 }, (_, i) => ({ sensor_id: 'a', temperature: 2 * (10 * i) + 1, timestamp: at(10 * i) }));
    expect((await post(line.slice(15))).status).toBe(202);
    expect((await post(line.slice(0, 15))).status).toBe(202);

    const minutes = await windowPoints('sensors-tumbling-1m', (p) => p.length === 5 && p[0].values.temperature_avg === 51);
    expect(minutes.map((p) => [p.time, p.dimensions, p.values])).toEqual(
      [0, 1, 2, 3, 4].map((k) => [at(60 * k), { sensor_id: 'a' }, { temperature_avg: 120 * k + 51, temperature_max: 120 * k + 101, temperature_min: 120 * k + 1 }]),
    );

    // the windows [t, t + 5m) every minute that hold a point: t from -4m to 4m, each with two or more points
    const trends = await windowPoints('sensors-sliding-5m-1m', (p) => p.length === 9);
    expect(trends.map((p) => p.time)).toEqual([-4, -3, -2, -1, 0, 1, 2, 3, 4].map((k) => at(60 * k)));
    for (const p of trends) {
      expect(p.values.temperature_trend).toBeCloseTo(2, 9);
      expect(p.values.temperature_trend_r2).toBeCloseTo(1, 9);
    }

    const sessions = await windowPoints('sensors-session-10m', (p) => p.length === 1 && p[0].values.window_points === 30);
    expect(sessions[0]).toMatchObject({ time: at(0), values: { temperature_count: 30, temperature_avg: 291, window_end: T0 + 290_000, window_points: 30 } });

    // the percentile window has no groupBy: one series across the stream
    const fleet = await windowPoints('sensors-fleet', (p) => p.length === 5);
    expect(fleet[0].dimensions ?? {}).toEqual({});
    // the same percentiles the query API gives for that window across the stream
    const asked = await call(`/v1/streams/sensors/data?${range}&window=tumbling:1m&downsamplers=p50,p99,stddev&fields=temperature`);
    expect(fleet.map((p) => p.values)).toEqual(asked.body.points.map((p: any) => ({ temperature_p50: p.values.temperature.p50, temperature_p99: p.values.temperature.p99, temperature_stddev: p.values.temperature.stddev })));
    expect(fleet[0].values.temperature_stddev).toBeCloseTo(Math.sqrt(1400), 9);
    expect(Object.keys(fleet[0].values).sort()).toEqual(['temperature_p50', 'temperature_p99', 'temperature_stddev']);

    // queried like any stream: downsampled, with the window stream's own fields
    const hourly = await call(`/v1/streams/sensors-tumbling-1m/data?${range}&granularity=1h&fields=temperature_max&downsamplers=max`);
    expect(hourly.status).toBe(200);
    expect(hourly.body.points.map((p: any) => p.values.temperature_max.max)).toEqual([581]);
  });

  it('updates the window a late point falls in, and joins two sessions a point between them bridges', async () => {
    expect((await post([{ sensor_id: 'a', temperature: 1000, timestamp: at(65) }])).status).toBe(202);
    const minutes = await windowPoints('sensors-tumbling-1m', (p) => p[1]?.values.temperature_max === 1000);
    // minute 1: 121, 141, …, 221 and the late 1000
    expect(minutes[1].values.temperature_avg).toBeCloseTo((6 * 171 + 1000) / 7, 9);
    expect(minutes[1].values.temperature_min).toBe(121);
    expect(minutes.map((p) => p.values.temperature_avg).filter((_, i) => i !== 1)).toEqual([51, 291, 411, 531]);
    // every sliding window holding 65 s moved off the line
    const trends = await windowPoints('sensors-sliding-5m-1m', (p) => p.filter((w) => Math.abs(w.values.temperature_trend - 2) > 1e-6).length === 5);
    expect(trends.filter((w) => Math.abs(w.values.temperature_trend - 2) > 1e-6).map((w) => w.time)).toEqual([-3, -2, -1, 0, 1].map((k) => at(60 * k)));

    // a second burst 30 minutes on is a second session …
    expect((await post([{ sensor_id: 'a', temperature: 5, timestamp: at(1800) }, { sensor_id: 'a', temperature: 7, timestamp: at(1830) }])).status).toBe(202);
    const two = await windowPoints('sensors-session-10m', (p) => p.length === 2);
    expect(two.map((p) => [p.time, p.values.window_points])).toEqual([[at(0), 31], [at(1800), 2]]);
    // … until points at 14 and 23 minutes bridge the gap: one session of 35 points
    expect((await post([{ sensor_id: 'a', temperature: 3, timestamp: at(840) }, { sensor_id: 'a', temperature: 3, timestamp: at(1380) }])).status).toBe(202);
    const one = await windowPoints('sensors-session-10m', (p) => p.length === 1);
    expect(one[0]).toMatchObject({ time: at(0), values: { window_points: 35, window_end: T0 + 1_830_000 } });
  });

  it('keeps window series apart per sensor', async () => {
    expect((await post([{ sensor_id: 'b', temperature: 10, timestamp: at(0) }, { sensor_id: 'b', temperature: 30, timestamp: at(30) }])).status).toBe(202);
    const b = await waitForValue('sensor b’s minute', async () => {
      const r = await call(`/v1/streams/sensors-tumbling-1m/data?${range}&dim.sensor_id=b`);
      return r.body.points?.length ? r.body.points : undefined;
    });
    expect(b).toEqual([{ time: at(0), dimensions: { sensor_id: 'b' }, values: { temperature_avg: 20, temperature_max: 30, temperature_min: 10 } }]);
  });

  it('refuses a bad window at the path it was written at', async () => {
    const bad = await call('/v1/streams', {
      body: {
        name: 'Bad windows',
        type: 'iot_sensor',
        schema: { sensor_id: { type: 'string', required: true }, temperature: { type: 'number' }, label: { type: 'string' } },
        processing: {
          windows: [
            { type: 'tumbling', metrics: ['avg'] },
            { type: 'sliding', size: '5m', slide: '2m', metrics: ['trend', 'mode'] },
            { type: 'session', size: '10m' },
            { type: 'tumbling', size: '1m', fields: ['label'], groupBy: ['site'] },
          ],
        },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.type).toMatch(/problem\+json/);
    const paths = bad.body.errors.map((e: { path: (string | number)[] }) => e.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'processing.windows.0.size',
        'processing.windows.1.slide',
        'processing.windows.1.metrics.1',
        'processing.windows.2.size',
        'processing.windows.3.fields.0',
        'processing.windows.3.groupBy.0',
      ]),
    );
    // the documents' dialect, which the OpenAPI document does not describe for PATCH
    const patched = await local.api('/v1/streams/sensors', { method: 'PATCH', body: { processing: { windows: [{ type: 'tumbling', size: '5m' }] } } });
    expect(patched.status).toBe(400);
    expect(patched.body.errors[0].path).toEqual(['processing', 'windows']);
  });

  it('fires an alert rule of a window stream, with its email, when a window passes it', async () => {
    const rule = { name: 'hot minute', when: 'temperature_max > 1200', actions: [{ type: 'email', to: ['ops@example.com'], subject: 'Hot minute on {{alert.dimensions.sensor_id}}: {{alert.value}}' }] };
    const patched = await call('/v1/streams/sensors-tumbling-1m', { method: 'PATCH', body: { alerts: [rule] } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect((await post([{ sensor_id: 'a', temperature: 1500, timestamp: at(75) }])).status).toBe(202);
    const alert = await waitForValue('the window stream’s alert', async () => (await call('/v1/streams/sensors-tumbling-1m/alerts')).body.alerts?.[0]);
    expect(alert).toMatchObject({ rule: 'hot minute', state: 'firing', dimensions: { sensor_id: 'a' }, time: at(60), value: 1500 });
    const mail = await waitForValue('the alert email', () => emails.map((l) => JSON.parse(l)).find((m) => String(m.subject).startsWith('Hot minute on a')));
    expect(mail.subject).toBe('Hot minute on a: 1500');
  });

  it('refuses appends to a window stream, and deletes window streams with their source only', async () => {
    expect((await call('/v1/streams/sensors-tumbling-1m/data', { body: [{ temperature_avg: 1 }] })).status).toBe(409);
    expect((await call('/v1/streams/sensors-fleet', { method: 'DELETE' })).status).toBe(409);
    expect((await call('/v1/streams/sensors', { method: 'DELETE' })).status).toBe(204);
    for (const id of ['sensors-tumbling-1m', 'sensors-sliding-5m-1m', 'sensors-session-10m', 'sensors-fleet']) expect((await call(`/v1/streams/${id}`)).status).toBe(404);
    // deleted by their tags (a window stream has its source's): the windows go with their source
    const tagged = await call('/v1/streams', { body: { id: 'tagged', name: 'Tagged', type: 'iot_sensor', tags: { site: 'north' }, schema: { t: { type: 'number' } }, windows: [{ type: 'tumbling', size: '1m' }] } });
    expect(tagged.status, JSON.stringify(tagged.body)).toBe(201);
    expect((await call('/v1/streams/tagged-tumbling-1m')).body.tags).toEqual({ site: 'north' });
    const byTag = await call('/v1/streams?tag.site=north', { method: 'DELETE' });
    expect(byTag.status, JSON.stringify(byTag.body)).toBe(200);
    expect(byTag.body.deleted).toEqual(['tagged', 'tagged-tumbling-1m']);
    expect((await call('/v1/streams/tagged-tumbling-1m')).status).toBe(404);
    expect(problems).toEqual([]);
  });
});
