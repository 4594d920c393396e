import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { documentDefinition, documentRecords } from '../fixtures/data-streams';
import { PG_PASSWORD, PG_USER, startPostgres } from '../fixtures/postgres-server';
import { ACCOUNTS, startVendor, VENDOR_TOKEN } from '../fixtures/vendor-server';
import { publishQos1, startLocal } from './harness';
import { schedulerClock, waitFor as waitUntil } from '../fixtures/waiting';

const waitFor = <T,>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000) => waitUntil(read, ok, ms);

/**
 * The stream definitions of the Data Streams document (`test/fixtures/data-streams`, copied from
 * `shared/seeds/000_…`), created over HTTP on the local runtime as a user pasting them would.
 */
/** The document's sensor stream with a username and topic of its own: another stream holding the document's would be a 409. */
function anotherSensor(tag: string): Record<string, any> {
  const def = documentDefinition('temperature-monitoring') as Record<string, any>;
  return { ...def, source: { ...def.source, topic: `sensors/temperature/${tag}`, credentials: { ...def.source.credentials, username: `sensor_user_${tag}` } } };
}

describe('the Data Streams document on the local runtime', () => {
  const emails: string[] = [];
  const local = startedForSuite(() => startLocal({ alerts: { retryIntervalMs: 5, emailLog: (line) => emails.push(line) } }));

  async function alertsOf(id: string, n: number): Promise<any[]> {
    return (await waitFor(() => local.api(`/v1/streams/${id}/alerts`), (r) => r.body.alerts?.length >= n)).body.alerts;
  }

  it('creates the Temperature Monitoring stream and answers as the document does, without the device password', async () => {
    const r = await local.api('/v1/streams', { body: documentDefinition('temperature-monitoring') });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      streamId: r.body.id,
      status: 'active',
      vaultId: 'vault_abc123',
      endpoint: `${local.base}/v1/streams/${r.body.id}/data`,
      mqtt: { topic: 'sensors/temperature/facility-a', alsoTopic: `tributary/${r.body.id}/data` },
      ingestToken: expect.stringMatching(/^trb_/),
    });
    const got = await local.api(`/v1/streams/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.schema.temperature).toEqual({ type: 'number', unit: 'celsius', range: { min: -40, max: 100 } });
    expect(got.body.device.credentials).toEqual({ username: 'sensor_user' });
    expect(got.body.defaultQuery).toEqual({ granularity: '1m', downsamplers: ['mean'] });
    expect(got.body).not.toHaveProperty('processing');
    expect(JSON.stringify([r.body, got.body])).not.toMatch(/sensor_pass|scrypt/);
  });

  it('takes the document\'s batch on the Environmental Monitoring stream, answers aggregation=hourly with hourly means and the default query per 30 s window, and fires the co2 alert', async () => {
    const { id, ingestToken } = await local.createStream(documentDefinition('environmental-monitoring'));
    const sent = await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: documentRecords('batch-records') });
    expect(sent).toMatchObject({ status: 202, body: { accepted: 3 } });
    const range = 'start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z';
    const hourly = await local.waitForPoints(id, `${range}&fields=temperature,humidity&aggregation=hourly`, (p) => p[0]?.values.temperature.count === 3);
    expect(hourly).toEqual([
      { time: '2024-01-15T10:00:00.000Z', values: { temperature: expect.objectContaining({ mean: expect.closeTo(23.5333, 3), count: 3 }), humidity: expect.objectContaining({ mean: expect.closeTo(65.1667, 3) }) } },
    ]);
    // processing.frequency 30s + aggregation latest: the stream's own answer without a granularity
    const byDefault = await local.api(`/v1/streams/${id}/data?${range}&fields=co2`);
    expect(byDefault.body).toMatchObject({ granularity: '30s' });
    expect(byDefault.body.points.map((p: any) => [p.time, p.values.co2])).toEqual([
      ['2024-01-15T10:30:00.000Z', { last: 425 }],
      ['2024-01-15T10:31:00.000Z', { last: 430 }],
      ['2024-01-15T10:32:00.000Z', { last: 435 }],
    ]);
    const raw = await local.api(`/v1/streams/${id}/data?${range}&aggregation=raw`);
    expect(raw.body.points).toHaveLength(3);
    expect((await local.api(`/v1/streams/${id}/data?${range}&aggregation=weekly&colour=red`)).body.errors.map((e: any) => e.path)).toEqual([['colour'], ['aggregation']]);

    expect((await local.api(`/v1/streams/${id}/alerts`)).body.alerts).toEqual([]);
    await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: { timestamp: new Date().toISOString(), temperature: 24, humidity: 50, co2: 1200 } });
    const [alert] = await alertsOf(id, 1);
    expect(alert).toMatchObject({ rule: 'co2 greater_than', state: 'firing', value: 1200 });
  });

  it('takes the document\'s stream processor (setProcessor): its transformations run on every record, its aggregations answer by name', async () => {
    const { id, ingestToken } = await local.createStream(documentDefinition('environmental-monitoring'));
    // the processor's functions write two fields the stream adds first, as its owner would
    const added = await local.api(`/v1/streams/${id}`, { method: 'PATCH', body: { schema: { temperatureUnit: { type: 'string' }, qualityScore: { type: 'number' } } } });
    expect(added.status).toBe(200);
    const processor = { ...documentDefinition('stream-processor'), streamId: id };
    const set = await local.api(`/v1/streams/${id}/processor`, { method: 'PUT', body: processor });
    expect(set.status).toBe(200);
    expect(set.body.pipeline.map((s: any) => s.name)).toEqual(['unit_conversion', 'quality_scoring']);
    expect(set.body.aggregations).toEqual([
      { name: 'hourly_averages', granularity: '1h', fields: ['temperature', 'humidity', 'co2'], downsamplers: ['mean'] },
      { name: 'daily_extremes', granularity: '1d', fields: ['temperature'], downsamplers: ['min', 'max'] },
    ]);
    const sent = await local.api(`/v1/streams/${id}/data`, {
      token: ingestToken,
      body: [
        { timestamp: '2024-02-01T10:00:00Z', temperature: 77, temperatureUnit: 'F', humidity: 50, co2: 1200 },
        { timestamp: '2024-02-01T10:30:00Z', temperature: 16, temperatureUnit: 'C', humidity: 60, co2: 400 },
      ],
    });
    expect(sent).toMatchObject({ status: 202, body: { accepted: 2 } });
    const range = 'start=2024-02-01T00:00:00Z&end=2024-02-02T00:00:00Z';
    const raw = await local.waitForPoints(id, `${range}&aggregation=raw`, (p) => p.length === 2);
    expect(raw.map((p: any) => [p.values.temperature, p.values.temperatureUnit, p.values.qualityScore])).toEqual([
      [25, 'C', 70],
      [16, 'C', 80],
    ]);
    const hourly = await local.api(`/v1/streams/${id}/data?${range}&aggregation=hourly_averages`);
    expect(hourly.body.points).toEqual([{ time: '2024-02-01T10:00:00.000Z', values: { temperature: { mean: 20.5 }, humidity: { mean: 55 }, co2: { mean: 800 } } }]);
    const daily = await local.api(`/v1/streams/${id}/data?${range}&aggregation=daily_extremes`);
    expect(daily.body.points).toEqual([{ time: '2024-02-01T00:00:00.000Z', values: { temperature: { min: 16, max: 25 } } }]);
    // what the processor cannot be is refused where it was written
    const bad = await local.api(`/v1/streams/${id}/processor`, {
      method: 'PUT',
      body: { streamId: 'another', transformations: [{ name: 'x', function: 'function x(d) { return d.; }' }], aggregations: [{ name: 'weekly', timeWindow: '7d', fields: ['nope'], function: 'median' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.path)).toEqual([['streamId'], ['aggregations', 0, 'timeWindow'], ['aggregations', 0, 'function']]);
    const syntax = await local.api(`/v1/streams/${id}/processor`, { method: 'PUT', body: { transformations: [{ name: 'x', function: 'function x(d) { return d.; }' }] } });
    expect(syntax.body.errors).toEqual([{ path: ['transformations', 0, 'function'], message: expect.stringMatching(/SyntaxError/) }]);
  });

  it('fires the Temperature Monitoring thresholds and refuses the document\'s HTTP record, whose location is not in the enum', async () => {
    const { id, ingestToken } = await local.createStream(anotherSensor('alerts'));
    const refused = await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: documentRecords('http-record') });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ index: 0, path: ['location'], message: expect.stringContaining('warehouse') }]);
    const now = Date.now();
    const ok = await local.api(`/v1/streams/${id}/data`, {
      token: ingestToken,
      body: [
        { timestamp: new Date(now - 2_000).toISOString(), temperature: 22, humidity: 50, location: 'warehouse', batteryLevel: 90 },
        { timestamp: new Date(now - 1_000).toISOString(), temperature: 31.5, humidity: 70, location: 'warehouse', batteryLevel: 90 },
      ],
    });
    expect(ok).toMatchObject({ status: 202, body: { accepted: 2 } });
    const alerts = await alertsOf(id, 2);
    expect(alerts.map((a) => [a.rule, a.value]).sort()).toEqual([
      ['humidity out of range', 70],
      ['temperature out of range', 31.5],
    ]);
    // processing.frequency 1m + aggregation average: per-minute means without a granularity
    const perMinute = await local.api(`/v1/streams/${id}/data?timeRange=last_hour&fields=temperature`);
    expect(perMinute.body.granularity).toBe('1m');
    const means = perMinute.body.points.map((p: any) => p.values.temperature.mean);
    expect(means.length === 1 ? means[0] : (means[0] + means[1]) / 2).toBeCloseTo(26.75, 5);
  });

  it('applies the configuration update as a PATCH, and refuses setAlerts on a runtime that names no maintenance_system, by path', async () => {
    const { id } = await local.createStream(documentDefinition('environmental-monitoring'));
    const updated = await local.api(`/v1/streams/${id}`, { method: 'PATCH', body: documentDefinition('update-stream-configuration') });
    expect(updated.status).toBe(200);
    expect(updated.body.defaultQuery).toEqual({ granularity: '1m', downsamplers: ['mean'] });
    expect(updated.body.alerts).toEqual([expect.objectContaining({ name: 'temperature outside_range', when: { field: 'temperature', outside: [18, 28] } })]);

    const config = { ...documentDefinition('alert-config'), streamId: id };
    const refused = await local.api(`/v1/streams/${id}`, { method: 'PATCH', body: config });
    expect(refused.status).toBe(400);
    // this runtime names no ticket system (the document's, run end to end with one: alert-config.test.ts)
    expect(refused.body.errors).toEqual([{ path: ['rules', 1, 'actions', 0, 'system'], message: expect.stringContaining("'maintenance_system' is not a ticket system of this deployment (it names none)") }]);
  });

  it('answers the document\'s paths without /v1 as their /v1 twins, with the same scopes', async () => {
    const created = await local.api('/streams', { body: documentDefinition('basic-stream-creation') });
    expect(created.status).toBe(201);
    const { id, ingestToken } = created.body;
    const record = { timestamp: '2024-01-15T10:30:00Z', temperature: 23.5 };
    expect(await local.api(`/streams/${id}/data`, { token: ingestToken, body: record })).toMatchObject({ status: 202, body: { accepted: 1 } });
    const points = await local.waitForPoints(id, 'start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z', (p) => p.length === 1);
    const unversioned = await local.api(`/streams/${id}/data?start=2024-01-15T00:00:00Z&end=2024-01-16T00:00:00Z`);
    expect(unversioned.body.points).toEqual(points);
    expect((await local.api(`/streams/${id}`)).body).toEqual((await local.api(`/v1/streams/${id}`)).body);
    // the document's status fields beside Tributary's own
    expect((await local.api(`/streams/${id}/status`)).body).toMatchObject({
      streamId: id,
      pointsTotal: 1,
      status: 'active',
      lastDataReceived: expect.any(String),
      dataPointsToday: expect.any(Number),
      errorCount: 0,
    });
    expect((await local.api(`/streams/${id}/pause`, { method: 'POST' })).body.state).toBe('paused');
    expect((await local.api(`/streams/${id}/resume`, { method: 'POST' })).body.state).toBe('active');
    // the ingest token may write, not manage: the scope is the /v1 route's
    expect((await local.api('/streams', { token: ingestToken, body: documentDefinition('basic-stream-creation') })).status).toBe(403);
    expect((await local.api(`/streams/${id}/data`, { token: null, body: record })).status).toBe(401);
    expect((await local.api('/streams/nope/data/extra')).status).toBe(404);
  });

  it('takes Manufacturing Events of each type, each checked against its own event type', async () => {
    const { id, ingestToken } = await local.createStream(documentDefinition('manufacturing-events'));
    const stream = (await local.api(`/v1/streams/${id}`)).body;
    expect(stream.webhook).toEqual({ authentication: 'hmac-sha256', secret: '${secret:WEBHOOK_SECRET}' });
    const events = [
      { eventType: 'production_started', batchId: 'B-7', productType: 'widget', quantity: 100, startTime: '2024-01-15T08:00:00Z', operator: 'ana' },
      { eventType: 'quality_check', batchId: 'B-7', testType: 'visual', result: 'pass', metrics: { defects: 0 }, inspector: 'li', timestamp: '2024-01-15T09:00:00Z' },
      { eventType: 'batch_completed', batchId: 'B-7', completionTime: '2024-01-15T10:00:00Z', finalQuantity: 98, qualityGrade: 'A' },
    ];
    const refused = await local.api(`/v1/streams/${id}/data`, {
      token: ingestToken,
      body: [
        { eventType: 'quality_check', batchId: 'B-8', result: 'pass', timestamp: '2024-01-15T09:00:00Z' },
        { eventType: 'production_started', batchId: 'B-8', productType: 'widget', startTime: '2024-01-15T08:00:00Z', qualityGrade: 'A' },
        { eventType: 'shipment', batchId: 'B-8' },
      ],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([
      { index: 0, path: ['testType'], message: "event type 'quality_check' requires 'testType'" },
      { index: 1, path: ['qualityGrade'], message: "'qualityGrade' is not a field of event type 'production_started'" },
      { index: 2, path: ['eventType'], message: expect.stringContaining('production_started') },
    ]);
    expect(await local.api(`/v1/streams/${id}/data`, { token: ingestToken, body: events })).toMatchObject({ status: 202, body: { accepted: 3 } });
    const checks = await local.waitForPoints(id, 'start=2024-01-01T00:00:00Z&dim.eventType=quality_check', (p) => p.length === 1);
    expect(checks[0]).toMatchObject({ time: '2024-01-15T09:00:00.000Z', dimensions: { eventType: 'quality_check' }, values: { batchId: 'B-7', result: 'pass', metrics: { defects: 0 } } });
    const all = await local.waitForPoints(id, 'timeRange=last_hour', (p) => p.length === 2);
    expect(all.map((p) => p.dimensions.eventType).sort()).toEqual(['batch_completed', 'production_started']);
  });

  it('takes the document\'s MQTT client\'s readings on the Temperature Monitoring stream, each device a series', async () => {
    const created = await local.api('/v1/streams', { body: anotherSensor('tokens') });
    const { id, ingestToken, mqtt } = created.body;
    // contract v1's device login: username = device id, password = the ingest token (the document's own credentials: mqtt-devices.test.ts)
    const device = await local.device('TEMP-001', ingestToken);
    const reading = { deviceId: 'TEMP-001', temperature: 21.5, humidity: 45.5, timestamp: new Date().toISOString() };
    expect(await publishQos1(device, mqtt.topic, JSON.stringify(reading))).toBe('acked');
    const [point] = await local.waitForPoints(id, 'aggregation=raw&timeRange=last_hour', (p) => p.length === 1);
    expect(point).toMatchObject({ dimensions: { deviceId: 'TEMP-001' }, values: { temperature: 21.5, humidity: 45.5 } });
  });

  it('lists and filters streams by vaultId', async () => {
    // each its own device topic: a topic is one stream's
    const basic = (vaultId: string) => {
      const def = documentDefinition('basic-stream-creation');
      return { ...def, vaultId, source: { ...def.source, topic: `facility/${vaultId}` } };
    };
    const a = await local.createStream(basic('vault_list_a'));
    const b = await local.createStream(basic('vault_list_b'));
    const listed = await local.api('/v1/streams?vaultId=vault_list_a');
    expect(listed.status).toBe(200);
    expect(listed.body.streams.map((s: { id: string }) => s.id)).toEqual([a.id]);
    expect((await local.api('/v1/streams?vaultId=vault_list_b')).body.streams.map((s: { id: string }) => s.id)).toEqual([b.id]);
    const bad = await local.api('/v1/streams?vaultId=a%20b');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: ['vaultId'], message: expect.any(String) }]);
  });

  it('answers a key the dialect does not know with a 400 naming it', async () => {
    const r = await local.api('/v1/streams', { body: { ...documentDefinition('temperature-monitoring'), colour: 'blue' } });
    expect(r.status).toBe(400);
    expect(r.body.errors).toContainEqual({ path: [], message: expect.stringContaining('"colour"') });
  });
});

const vendor = startedForSuite(startVendor);
const pg = startedForSuite(startPostgres);

/** The scheduler's clock: the pulls run on real time, the schedule is moved by the test. */
describe('the document\'s pull streams on the local runtime', () => {
  const clock = schedulerClock();
  const local = startedForSuite(() =>
    startLocal({
      pulls: { tick: '* * * * * *', clock, env: { TRIBUTARY_SECRET_API_TOKEN: VENDOR_TOKEN, TRIBUTARY_SECRET_DB_USER: PG_USER, TRIBUTARY_SECRET_DB_PASS: PG_PASSWORD } },
    }),
  );

  it('pulls the Financial Data Feed on its Unix cron schedule through its JavaScript transform', async () => {
    const def = documentDefinition('financial-data-feed');
    // the one change a user makes: their API's address
    const { id } = await local.createStream({ ...def, source: { ...def.source, endpoint: `${vendor.base}/financial/accounts` } });
    const stream = (await local.api(`/v1/streams/${id}`)).body;
    expect(stream.source).toMatchObject({ schedule: 'cron(0 0/6 * * ? *)', timeoutMs: 30_000, headers: { Authorization: 'Bearer ${secret:API_TOKEN}' } });
    expect(stream.source.script).toMatch(/^\/\/ Transform API response to stream format\nfunction transform\(apiData\)/);

    const status = (await local.api(`/v1/streams/${id}/status`)).body.pull;
    const next = Date.parse(status.nextRunAt);
    expect(new Date(next).getUTCHours() % 6).toBe(0);
    expect(next % 3_600_000).toBe(0);
    clock.advance(next - clock.now() + 1_000); // past the next 6-hour mark
    const ran = await waitFor(() => local.api(`/v1/streams/${id}/status`), (r) => r.body.pull?.runs === 1);
    expect(ran.body.pull).toMatchObject({ lastStatus: 'succeeded', recordsEnqueued: 2 });

    const points = await local.waitForPoints(id, 'limit=100', (p) => p.length === 2);
    // the document names no series keys: its required string fields are the stream's dimensions
    expect(points.map((p) => ({ ...p.dimensions, ...p.values })).sort((a, b) => a.accountId.localeCompare(b.accountId))).toEqual(
      ACCOUNTS.map((a) => ({ accountId: a.id, balance: a.current_balance, currency: a.currency_code, lastTransaction: new Date(a.last_transaction_date).toISOString(), status: a.status.toLowerCase() })),
    );
  });

  it('stops a transform that loops forever, reports it as the pull\'s failure and keeps serving', async () => {
    const def = documentDefinition('financial-data-feed');
    const { id } = await local.createStream({
      ...def,
      name: 'Looping feed',
      source: { ...def.source, endpoint: `${vendor.base}/financial/accounts`, timeout: 1_000 },
      processing: { ...def.processing, transform: 'function transform(apiData) { for (;;) {} }' },
    });
    const started = Date.now();
    const run = await local.api(`/v1/streams/${id}/pull`, { method: 'POST' });
    expect(run.body).toMatchObject({ status: 'failed', error: { code: 'transform.failed', message: expect.stringContaining('timeout') } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await local.api(`/v1/streams/${id}`)).status).toBe(200);
    const bad = await local.api('/v1/streams', { body: { ...def, processing: { transform: 'function transform(apiData) { return apiData.map(; }' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: ['processing', 'transform'], message: expect.stringMatching(/^SyntaxError/) }]);
  });

  it('pulls the Inventory Sync table incrementally by last_updated', async () => {
    await pg.db.exec(`CREATE TABLE inventory (product_id text, quantity_on_hand integer, location text, last_updated timestamptz, reorder_level integer, supplier_id text)`);
    const insert = (n: number) =>
      pg.db.exec(`INSERT INTO inventory VALUES ('P-${n}', ${n * 10}, 'warehouse', '2026-12-01T08:0${n}:00Z', 5, 'S-1')`);
    const def = documentDefinition('inventory-sync');
    // the user's own database: its address, and no TLS on this one. The test pulls by hand: the document's
    // every-15-minutes schedule, on the scheduler clock the test before moved hours ahead, would be due at once
    // and take the pull's lease first (a 409), so it is moved to a day that comes once in four years.
    const { id } = await local.createStream({
      ...def,
      source: { ...def.source, schedule: '0 0 29 2 *', connection: { ...def.source.connection, host: '127.0.0.1', port: pg.port, database: 'postgres', ssl: false } },
    });
    await insert(1);
    await insert(2);
    const first = await local.api(`/v1/streams/${id}/pull`, { method: 'POST' });
    expect(first.body).toMatchObject({ status: 'succeeded', pulled: 2, enqueued: 2, cursorAfter: '2026-12-01T08:02:00.000Z' });
    await insert(3);
    const second = await local.api(`/v1/streams/${id}/pull`, { method: 'POST' });
    expect(second.body).toMatchObject({ status: 'succeeded', pulled: 1, enqueued: 1, cursorBefore: '2026-12-01T08:02:00.000Z' });
    const points = await local.waitForPoints(id, 'limit=100', (p) => p.length === 3);
    expect(points.map((p) => p.dimensions.productId).sort()).toEqual(['P-1', 'P-2', 'P-3']);
    expect(points[0]).toMatchObject({
      dimensions: { location: 'warehouse' },
      values: { quantityOnHand: expect.any(Number), supplierId: 'S-1', lastUpdated: expect.stringMatching(/^2026-12-01T08:0/) },
    });
  });
});
