import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { documentDefinition } from '../fixtures/data-streams';
import { startedForSuite } from '../fixtures/lifecycle';
import { publishQos1, startLocal } from './harness';

const TOPIC = 'sensors/temperature/facility-a';

/** What a device sees when it connects: 'connected', or the CONNACK return code of the refusal. */
function connect(url: string, opts: { username: string; password: string; clientId: string }): Promise<{ result: number | 'connected'; client: mqtt.MqttClient }> {
  const client = mqtt.connect(url, { ...opts, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ result: 'connected', client }));
    client.once('error', (err) => resolve({ result: (err as { code?: number }).code ?? -1, client }));
  });
}

/**
 * The Data Streams document's Temperature Monitoring device, as written: it logs in to Tributary's broker
 * with its definition's own `credentials` and publishes on its definition's `topic`.
 */
describe("a device with its stream's own MQTT credentials and topic (local runtime)", () => {
  const local = startedForSuite(() => startLocal({}));
  const sensor = { username: 'sensor_user', password: 'sensor_pass', clientId: 'TEMP-SENSOR-001' };

  it('connects as sensor_user, publishes on the definition topic at QoS 1, and the record is queryable; a wrong password is CONNACK 4', async () => {
    const created = await local.api('/v1/streams', { body: documentDefinition('temperature-monitoring') });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(JSON.stringify(created.body)).not.toContain('sensor_pass');

    const { result, client } = await connect(local.mqttUrl, sensor);
    expect(result).toBe('connected');
    const reading = { deviceId: 'TEMP-SENSOR-001', temperature: 21.5, humidity: 45.5, location: 'warehouse', batteryLevel: 80, timestamp: new Date().toISOString() };
    expect(await publishQos1(client, TOPIC, JSON.stringify(reading))).toBe('acked');
    const [point] = await local.waitForPoints(id, 'aggregation=raw&timeRange=last_hour', (p) => p.length === 1);
    expect(point).toMatchObject({ dimensions: { deviceId: 'TEMP-SENSOR-001' }, values: { temperature: 21.5, humidity: 45.5 } });
    client.end(true);

    const wrong = await connect(local.mqttUrl, { ...sensor, password: 'sensor_pasS' });
    wrong.client.end(true);
    expect(wrong.result).toBe(4);
    const otherClientId = await connect(local.mqttUrl, { ...sensor, clientId: 'sensor_user' });
    otherClientId.client.end(true);
    expect(otherClientId.result).toBe(2);
  });

  it("refuses a second stream claiming the topic or the username with a 409 naming the field, and a topic under tributary/ with a 400", async () => {
    const def = documentDefinition('temperature-monitoring');
    const sameTopic = await local.api('/v1/streams', { body: { ...def, source: { ...def.source, credentials: { username: 'other_user', password: 'other_pass' } } } });
    expect(sameTopic.status).toBe(409);
    expect(sameTopic.type).toContain('application/problem+json');
    expect(sameTopic.body.errors).toEqual([{ path: ['source', 'topic'], message: expect.stringContaining('is taken by stream') }]);
    const sameUser = await local.api('/v1/streams', { body: { ...def, source: { ...def.source, topic: 'sensors/other' } } });
    expect(sameUser.status).toBe(409);
    expect(sameUser.body.errors).toEqual([{ path: ['source', 'credentials', 'username'], message: expect.stringContaining('is taken by stream') }]);
    // the refused create released what it had claimed first
    const freed = await local.api('/v1/streams', { body: { ...def, source: { ...def.source, topic: 'sensors/other', credentials: { username: 'other_user', password: 'other_pass' } } } });
    expect(freed.status).toBe(201);
    const reserved = await local.api('/v1/streams', { body: { ...def, source: { ...def.source, topic: 'tributary/x/data', credentials: { username: 'third', password: 'third_pass' } } } });
    expect(reserved.status).toBe(400);
    expect(reserved.body.errors[0].path).toEqual(['source', 'topic']);
  });

  it("does not let the device publish on another stream's topic", async () => {
    const def = documentDefinition('temperature-monitoring');
    const other = await local.api('/v1/streams', { body: { ...def, source: { ...def.source, topic: 'sensors/neighbour', credentials: { username: 'neighbour', password: 'neighbour_pass' } } } });
    expect(other.status).toBe(201);
    const { result, client } = await connect(local.mqttUrl, sensor);
    expect(result).toBe('connected');
    const reading = JSON.stringify({ deviceId: 'TEMP-SENSOR-001', temperature: 30, timestamp: new Date().toISOString() });
    expect(await publishQos1(client, 'sensors/neighbour', reading)).toBe('closed');
    const again = await connect(local.mqttUrl, sensor);
    expect(await publishQos1(again.client, `tributary/${other.body.id}/data`, reading)).toBe('closed');
    client.end(true);
    again.client.end(true);
    const points = await local.api(`/v1/streams/${other.body.id}/data?aggregation=raw&timeRange=last_hour`);
    expect(points.body.points).toEqual([]);
  });

  it('refuses the old password after a PATCH changes it, and frees the username and topic when the stream is deleted', async () => {
    const def = documentDefinition('temperature-monitoring');
    const created = await local.api('/v1/streams', { body: { ...def, source: { ...def.source, deviceId: 'PATCHED-1', topic: 'sensors/patched', credentials: { username: 'patch_user', password: 'first_pass' } } } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const login = { username: 'patch_user', clientId: 'PATCHED-1' };
    const first = await connect(local.mqttUrl, { ...login, password: 'first_pass' });
    first.client.end(true);
    expect(first.result).toBe('connected');

    const patched = await local.api(`/v1/streams/${id}`, { method: 'PATCH', body: { source: { ...def.source, deviceId: 'PATCHED-1', topic: 'sensors/patched', credentials: { username: 'patch_user', password: 'second_pass' } } } });
    expect(patched.status).toBe(200);
    const old = await connect(local.mqttUrl, { ...login, password: 'first_pass' });
    old.client.end(true);
    expect(old.result).toBe(4);
    const current = await connect(local.mqttUrl, { ...login, password: 'second_pass' });
    current.client.end(true);
    expect(current.result).toBe('connected');

    expect((await local.api(`/v1/streams/${id}`, { method: 'DELETE' })).status).toBe(204);
    const gone = await connect(local.mqttUrl, { ...login, password: 'second_pass' });
    gone.client.end(true);
    expect(gone.result).toBe(4);
    const reclaimed = await local.api('/v1/streams', { body: { ...def, source: { ...def.source, topic: 'sensors/patched', credentials: { username: 'patch_user', password: 'third_pass' } } } });
    expect(reclaimed.status).toBe(201);
  });
});
