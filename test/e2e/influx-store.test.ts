import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureInfluxd, startInfluxd, type Influxd } from '../fixtures/influxd';
import { publishQos1, startLocal, type Local } from './harness';

const missing = ensureInfluxd();
if (missing) console.error(`\n*** e2e on TRIBUTARY_STORE=influxdb SKIPPED: ${missing} ***\n`);

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const AUTH = { username: 'tributary', password: 'e2e-influx-pass' };

describe.skipIf(missing !== undefined)('the local runtime with its points in a real InfluxDB (TRIBUTARY_STORE=influxdb)', () => {
  let influx: Influxd;
  let local: Local;
  let stream: { id: string; ingestToken: string };
  /** InfluxQL straight to influxd, past Tributary: what the store really holds. */
  const influxql = async (q: string) => {
    const r = await fetch(`${influx.url}/query?${new URLSearchParams({ db: 'e2e', q, u: AUTH.username, p: AUTH.password })}`);
    return ((await r.json()) as { results: { series?: { values: unknown[][] }[] }[] }).results[0]!.series ?? [];
  };
  const records = [0, 1].flatMap((d) => Array.from({ length: 6 }, (_, m) => ({ deviceId: `f${d}`, timestamp: iso(T0 + m * 20_000), temperature: d * 10 + m, door: m % 2 === 0 })));

  beforeAll(async () => {
    influx = await startInfluxd({ auth: AUTH });
    local = await startLocal({ influx: { url: influx.url, database: 'e2e', credentials: AUTH, createDatabase: true } });
    stream = await local.createStream({
      name: 'Freezers',
      type: 'iot_sensor',
      schema: { deviceId: { type: 'string', required: true }, temperature: { type: 'number' }, door: { type: 'boolean' } },
      dimensions: ['deviceId'],
    });
  }, 60_000);
  afterAll(async () => {
    await local?.close();
    await influx?.stop();
  });

  it('stores posted and MQTT-published records in InfluxDB, not DuckDB, and returns them raw', async () => {
    expect((await local.api(`/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records })).body).toEqual({ accepted: 12 });
    const device = await local.device('f9', stream.ingestToken);
    expect(await publishQos1(device, `tributary/${stream.id}/data`, JSON.stringify({ deviceId: 'f9', timestamp: iso(T0 + 5_000), temperature: -3.5 }))).toBe('acked');
    const points = await local.waitForPoints(stream.id, `start=${iso(T0)}&end=${iso(T0 + 3_600_000)}`, (p) => p.length === 13);
    expect(points[0]).toEqual({ time: iso(T0), dimensions: { deviceId: 'f0' }, values: { temperature: 0, door: true } });
    expect(points.find((p) => p.dimensions.deviceId === 'f9')).toEqual({ time: iso(T0 + 5_000), dimensions: { deviceId: 'f9' }, values: { temperature: -3.5 } });
    expect(await influxql(`SELECT count("temperature") FROM "${stream.id}"`)).toEqual([{ name: stream.id, columns: ['time', 'count'], values: [[expect.anything(), 13]] }]);
    expect(existsSync(join(local.dataDir, 'points.duckdb'))).toBe(false);
  });

  it('answers downsampled, per-dimension and latest queries from InfluxDB', async () => {
    const q = (extra: string) => local.api(`/v1/streams/${stream.id}/data?start=${iso(T0)}&end=${iso(T0 + 120_000)}&fields=temperature&granularity=1m&downsamplers=mean,min,max,count&${extra}`);
    const across = await q('');
    expect(across.status).toBe(200);
    // minute 0: f0 0,1,2 · f1 10,11,12 · f9 -3.5; minute 1: f0 3,4,5 · f1 13,14,15
    expect(across.body.points).toEqual([
      { time: iso(T0), values: { temperature: { mean: (36 - 3.5) / 7, min: -3.5, max: 12, count: 7 } } },
      { time: iso(T0 + 60_000), values: { temperature: { mean: 9, min: 3, max: 15, count: 6 } } },
    ]);
    const byDevice = await q('groupBy=deviceId&dim.deviceId=f1');
    expect(byDevice.body.points.map((p: any) => [p.dimensions, p.values.temperature.mean])).toEqual([
      [{ deviceId: 'f1' }, 11],
      [{ deviceId: 'f1' }, 14],
    ]);
    const latest = await local.api(`/v1/streams/${stream.id}/latest?fields=temperature`);
    expect(latest.body.points.map((p: any) => [p.time, p.dimensions.deviceId, p.values.temperature])).toEqual([
      [iso(T0 + 5_000), 'f9', -3.5],
      [iso(T0 + 100_000), 'f0', 5],
      [iso(T0 + 100_000), 'f1', 15],
    ]);
  });

  it('refuses a bad query with problem+json naming the parameter, as on DuckDB', async () => {
    const r = await local.api(`/v1/streams/${stream.id}/data?start=${iso(T0)}&end=${iso(T0 + 60_000)}&granularity=7q`);
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/problem+json');
    expect(r.body.errors.map((e: any) => e.path)).toContainEqual(['granularity']);
  });

  it('erases a deleted stream’s points from InfluxDB', async () => {
    expect((await local.api(`/v1/streams/${stream.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await local.api(`/v1/streams/${stream.id}/data?start=${iso(T0)}&end=${iso(T0 + 60_000)}`)).status).toBe(404);
    expect(await influxql(`SELECT count("temperature") FROM "${stream.id}"`)).toEqual([]);
  });
});
