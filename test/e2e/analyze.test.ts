import { describe, expect, it } from 'vitest';
import { TributaryApiError, TributaryClient } from '../../packages/client/src/index';
import { documentDefinition } from '../fixtures/data-streams';
import { startedForSuite } from '../fixtures/lifecycle';
import { ADMIN, startLocal } from './harness';

// The Data Streams document's `streams.analyze` example, through the SDK, on the document's Environmental
// Monitoring stream and the local runtime, over readings whose answers are known in closed form.

const T0 = Date.parse('2024-01-10T00:00:00Z');
const HOUR = 3_600_000;

describe('analyze on the local runtime', () => {
  const local = startedForSuite(() => startLocal());

  it('answers the document’s analyses: trend, anomalies, correlation and a forecast', async () => {
    const client = new TributaryClient({ baseUrl: local.base, token: ADMIN });
    const { id } = await client.streams.create(documentDefinition('environmental-monitoring') as never);
    // 48 hourly readings: temperature rises 0.1 °C an hour, humidity falls as it rises, co2 flat with one spike
    const records = Array.from({ length: 48 }, (_, i) => ({ timestamp: new Date(T0 + i * HOUR).toISOString(), temperature: 20 + 0.1 * i, humidity: 60 - 0.3 * i, co2: i === 30 ? 2400 : 420 + (i % 3) }));
    expect((await client.streams.ingest(id, records)).accepted).toBe(48);
    await local.waitForPoints(id, `granularity=raw&start=${T0}&end=${T0 + 48 * HOUR}&limit=100`, (p) => p.length === 48);

    const answer = await client.streams.analyze(id, {
      timeRange: { start: '2024-01-01T00:00:00Z', end: '2024-01-31T23:59:59Z' },
      analyses: [
        { type: 'trend_analysis', field: 'temperature', algorithm: 'linear_regression' },
        { type: 'anomaly_detection', fields: ['temperature', 'co2'], sensitivity: 0.8 },
        { type: 'correlation_analysis', fields: ['temperature', 'humidity', 'co2'], method: 'pearson' },
        // the document asks for ARIMA; Tributary fits Holt's linear trend (ARIMA is a 400 naming the field)
        { type: 'forecasting', field: 'temperature', horizon: '6h', model: 'holt' },
      ],
    });
    expect(answer).toMatchObject({ streamId: id, points: 48, series: 1 });
    expect(answer.trends[0]!.slopePerHour).toBeCloseTo(0.1, 9);
    expect(answer.trends[0]!.r2).toBeCloseTo(1, 9);
    expect(answer.anomalies.map((a) => [a.field, a.anomalies.map((x) => x.time)])).toEqual([
      ['temperature', []],
      ['co2', [new Date(T0 + 30 * HOUR).toISOString()]],
    ]);
    expect(answer.correlations.find((c) => c.fields.join() === 'temperature,humidity')!.coefficient).toBeCloseTo(-1, 9);
    expect(answer.forecast[0]!.points.map((p) => Number(p.value.toFixed(6)))).toEqual([24.8, 24.9, 25, 25.1, 25.2, 25.3]);

    const refused = await client.streams.analyze(id, { timeRange: '7d', analyses: [{ type: 'forecasting', field: 'temperature', horizon: '7d', model: 'arima' }] }).catch((e) => e);
    expect(refused).toBeInstanceOf(TributaryApiError);
    expect(refused.status).toBe(400);
    expect(refused.problem.errors).toEqual([{ path: ['analyses', 0, 'model'], message: expect.stringContaining('holt') }]);
    const notNumeric = await local.api(`/v1/streams/${id}/analyze`, { body: { timeRange: '1d', analyses: [{ type: 'trend_analysis', field: 'nope' }] } });
    expect(notNumeric.status).toBe(400);
    // a read token may analyse; none may not
    const read = (await local.api(`/v1/streams/${id}/tokens`, { body: { scope: 'read' } })).body.token;
    expect((await local.api(`/v1/streams/${id}/analyze`, { token: read, body: { timeRange: { start: new Date(T0).toISOString() }, analyses: [{ type: 'trend_analysis', field: 'co2' }] } })).status).toBe(200);
    expect((await local.api(`/v1/streams/${id}/analyze`, { token: null, body: { timeRange: '1d', analyses: [] } })).status).toBe(401);
  });

  it('correlates two streams on hourly bins with n and a p-value, each stream read with the token’s scope, and forecasts a season', async () => {
    const schema = { timestamp: { type: 'datetime', required: true }, temperature: { type: 'number' } };
    const make = async (name: string) => (await local.api('/v1/streams', { body: { name, type: 'iot_sensor', schema } })).body;
    const indoor = await make('Indoor');
    const outdoor = await make('Outdoor');
    // 72 hourly readings a day-long sine; two readings an hour outdoors, whose hourly mean is 2 × indoor's
    const wave = (i: number) => 20 + 5 * Math.sin((2 * Math.PI * i) / 24);
    const inRecords = Array.from({ length: 72 }, (_, i) => ({ timestamp: new Date(T0 + i * HOUR).toISOString(), temperature: wave(i) }));
    const outRecords = Array.from({ length: 70 }, (_, i) => [0, 1].map((half) => ({ timestamp: new Date(T0 + (i + 2) * HOUR + half * 1_800_000).toISOString(), temperature: 2 * wave(i + 2) + (half ? 1 : -1) }))).flat();
    expect((await local.api(`/v1/streams/${indoor.id}/data`, { token: indoor.ingestToken, body: inRecords })).status).toBe(202);
    expect((await local.api(`/v1/streams/${outdoor.id}/data`, { token: outdoor.ingestToken, body: outRecords })).status).toBe(202);
    await local.waitForPoints(indoor.id, `granularity=raw&start=${T0}&end=${T0 + 72 * HOUR}&limit=200`, (p) => p.length === 72);
    await local.waitForPoints(outdoor.id, `granularity=raw&start=${T0}&end=${T0 + 72 * HOUR}&limit=200`, (p) => p.length === 140);

    const body = {
      timeRange: { start: new Date(T0).toISOString(), end: new Date(T0 + 72 * HOUR).toISOString() },
      analyses: [
        { type: 'correlation_analysis', streams: [indoor.id, outdoor.id], fields: ['temperature'], granularity: '1h' },
        { type: 'forecasting', field: 'temperature', horizon: '12h', model: 'holt_winters' },
        'peak_hours',
      ],
    };
    const answer = await local.api(`/v1/streams/${indoor.id}/analyze`, { body });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const [c] = answer.body.correlations;
    expect(c).toMatchObject({ fields: [`${indoor.id}.temperature`, `${outdoor.id}.temperature`], granularity: '1h', n: 70, pValue: 0 });
    expect(c.coefficient).toBeCloseTo(1, 9);
    const [f] = answer.body.forecast;
    expect(f).toMatchObject({ model: 'holt_winters', seasonLength: 24, seasonDetected: true });
    f.points.forEach((p: { value: number }, k: number) => expect(p.value).toBeCloseTo(wave(72 + k), 3));
    // the sine peaks at 06:00 UTC; 05:00 and 07:00 are equal to rounding
    expect(answer.body.patterns[0]).toMatchObject({ type: 'peak_hours', field: 'temperature' });
    expect(answer.body.patterns[0].peaks[0]).toBe(6);
    expect([...answer.body.patterns[0].peaks].sort()).toEqual([5, 6, 7]);

    // a token that reads only the indoor stream may not correlate it with the outdoor one
    const read = (await local.api(`/v1/streams/${indoor.id}/tokens`, { body: { scope: 'read' } })).body.token;
    expect((await local.api(`/v1/streams/${indoor.id}/analyze`, { token: read, body })).status).toBe(403);
    const unknown = await local.api(`/v1/streams/${indoor.id}/analyze`, { body: { ...body, analyses: [{ type: 'correlation_analysis', streams: [indoor.id, 'nope'], fields: ['temperature'] }] } });
    expect(unknown.status).toBe(404);
  });
});
