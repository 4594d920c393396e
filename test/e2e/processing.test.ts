import { describe, expect, it } from 'vitest';
import { FORMULA_FUNCTIONS } from '../../shared/domain/pipeline';
import { startedForSuite } from '../fixtures/lifecycle';
import { READINGS, startVendor, VENDOR_TOKEN } from '../fixtures/vendor-server';
import { publishQos1, startLocal } from './harness';

// The processing stage on every path a record takes on one machine: HTTPS, MQTT and a pull each see the
// same stages (a filter, °F → °C, a computed field, a JavaScript transform that throws for one record).

const vendor = startedForSuite(startVendor);
const local = startedForSuite(() => startLocal({ pulls: { tick: '* * * * * *', env: { TRIBUTARY_SECRET_VENDOR_TOKEN: VENDOR_TOKEN } } }));

const T = '2026-12-02T10:00:00.000Z';
const RANGE = 'start=2026-12-02T00:00:00Z&end=2026-12-03T00:00:00Z';

const climate = {
  name: 'Climate',
  type: 'iot_sensor',
  validation: 'lenient',
  schema: {
    site: { type: 'string', required: true },
    timestamp: { type: 'datetime' },
    temperature: { type: 'number', unit: 'celsius' },
    humidity: { type: 'number', unit: 'percent' },
    heat_index: { type: 'number', unit: 'celsius' },
  },
  dimensions: ['site'],
  pipeline: [
    { name: 'plausible', type: 'filter', config: { rules: [{ field: 'humidity', operator: 'range', value: [0, 100] }] } },
    {
      name: 'enrich',
      type: 'transform',
      config: { operations: [{ type: 'convert', field: 'temperature', from: 'fahrenheit' }, { type: 'calculate', field: 'heat_index', formula: 'heat_index(temperature, humidity)' }] },
    },
    { name: 'no bad sites', type: 'transform', config: { script: 'function transform(r) { if (r.site === "bad") throw new Error("site bad is retired"); return r; }' } },
  ],
};

describe('the processing stage on every ingest path', () => {
  it('over HTTPS: filtered records are counted, not refused; °F is stored as °C with its heat index; a throwing transform fails only its record', async () => {
    const { id, ingestToken } = await local.createStream({ ...climate, id: 'climate-http' });
    const r = await local.api(`/v1/streams/${id}/data`, {
      token: ingestToken,
      body: [
        { site: 'a', timestamp: T, temperature: 95, humidity: 50 },
        { site: 'b', timestamp: T, temperature: 212, humidity: 150 },
        { site: 'bad', timestamp: T, temperature: 50, humidity: 10 },
      ],
    });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ accepted: 1, filtered: 1, rejected: [{ index: 2, path: ['pipeline', 2], message: "stage 'no bad sites': the script threw: Error: site bad is retired" }] });
    const [point] = await local.waitForPoints(id, RANGE, (p) => p.length === 1);
    expect(point.dimensions).toEqual({ site: 'a' });
    expect(point.values).toEqual({ temperature: 35, humidity: 50, heat_index: FORMULA_FUNCTIONS.heat_index(35, 50) });
    const status = await local.api(`/v1/streams/${id}/status`);
    expect(status.body.filteredCount).toBe(1);
  });

  it('over MQTT: the same stages run before the PUBACK; a filtered publish is acknowledged and stores nothing; a failed one is refused', async () => {
    const { id, ingestToken } = await local.createStream({ ...climate, id: 'climate-mqtt' });
    const device = await local.device('m1', ingestToken);
    expect(await publishQos1(device, `tributary/${id}/data`, JSON.stringify({ site: 'm', timestamp: T, temperature: 212, humidity: 40 }))).toBe('acked');
    expect(await publishQos1(device, `tributary/${id}/data`, JSON.stringify({ site: 'm', timestamp: '2026-12-02T10:01:00Z', temperature: 50, humidity: 101 }))).toBe('acked');
    const points = await local.waitForPoints(id, RANGE, (p) => p.length === 1);
    expect(points[0].values).toEqual({ temperature: 100, humidity: 40, heat_index: FORMULA_FUNCTIONS.heat_index(100, 40) });
    expect((await local.api(`/v1/streams/${id}/status`)).body.filteredCount).toBe(1);
    expect(await publishQos1(device, `tributary/${id}/data`, JSON.stringify({ site: 'bad', timestamp: T, temperature: 50, humidity: 10 }))).toBe('closed');
    const after = await local.api(`/v1/streams/${id}/data?${RANGE}`);
    expect(after.body.points).toHaveLength(1);
  });

  it('on a pull: pulled records go through the stages as pushed ones do (a filter, °C → °F and °F → °C, a computed field, a throwing transform)', async () => {
    const { id } = await local.createStream({
      id: 'vendor-processed',
      name: 'Vendor, processed',
      type: 'api_pull',
      validation: 'lenient',
      schema: { sensor: { type: 'string', required: true }, at: { type: 'datetime' }, celsius: { type: 'number', unit: 'celsius' }, fahrenheit: { type: 'number', unit: 'fahrenheit' }, back: { type: 'number', unit: 'celsius' } },
      timeField: 'at',
      dimensions: ['sensor'],
      source: { kind: 'api_pull', url: `${vendor.base}/readings`, headers: { authorization: 'Bearer ${secret:VENDOR_TOKEN}' }, schedule: 'rate(1 minute)', transform: 'data[]', paging: { type: 'next_link', path: 'links.next' } },
      pipeline: [
        { type: 'filter', config: { rules: [{ field: 'celsius', operator: 'lte', value: 24 }] } },
        // a copy of the reading converted into the field's declared unit (°C → °F here: the same conversion table)
        { type: 'transform', config: { operations: [{ type: 'calculate', field: 'fahrenheit', formula: 'celsius' }, { type: 'convert', field: 'fahrenheit', from: 'celsius' }] } },
        // and that °F reading stored in a °C field: °F → °C, as a device's readings in °F are
        { type: 'transform', config: { operations: [{ type: 'calculate', field: 'back', formula: 'fahrenheit' }, { type: 'convert', field: 'back', from: 'fahrenheit' }] } },
        { type: 'transform', config: { script: 'function transform(r) { if (r.celsius === 21) throw new Error("sensor glitch"); return r; }' } },
      ],
    });
    const expected = READINGS.filter((r) => r.celsius <= 24 && r.celsius !== 21);
    const points = await local.waitForPoints(id, 'start=2026-12-01T00:00:00Z&end=2026-12-02T00:00:00Z', (p) => p.length === expected.length);
    expect(points.map((p) => [p.dimensions.sensor, p.values.celsius, p.values.fahrenheit])).toEqual(expected.map((r) => [r.sensor, r.celsius, (r.celsius * 9) / 5 + 32]));
    for (const p of points) expect(p.values.back).toBeCloseTo(p.values.celsius, 9);
    const status = await local.api(`/v1/streams/${id}/status`);
    expect(status.body.filteredCount).toBe(READINGS.length - 5);
    expect(status.body.pull).toMatchObject({ lastStatus: 'succeeded' });
  });

  it('stops a transform that loops forever within its budget, and the runtime keeps serving', async () => {
    const { id, ingestToken } = await local.createStream({
      id: 'spinning',
      name: 'Spinning',
      type: 'event_stream',
      schema: { n: { type: 'number' } },
      pipeline: [{ type: 'transform', config: { script: 'function transform(r) { for (;;) {} }' } }],
    });
    const started = Date.now();
    const r = await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: [{ n: 1 }, { n: 2 }] });
    const took = Date.now() - started;
    expect(r.status).toBe(400);
    expect(r.body.errors[0]).toMatchObject({ index: 0, path: ['pipeline', 0], message: expect.stringMatching(/ran longer than 251 ms/) });
    expect(took).toBeLessThan(2_000);
    const health = await fetch(`${local.base}/healthz`);
    expect(health.status).toBe(200);
  });

  it('refuses a pipeline that cannot run, at definition time, naming the stage and field', async () => {
    const r = await local.api('/v1/streams', {
      body: { ...climate, pipeline: [{ type: 'transform', config: { operations: [{ type: 'convert', field: 'humidity', from: 'fahrenheit' }] } }] },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([{ path: ['pipeline', 0, 'config', 'operations', 0, 'from'], message: expect.stringMatching(/^cannot convert fahrenheit to percent/) }]);
  });
});
