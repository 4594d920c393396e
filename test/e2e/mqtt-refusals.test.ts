import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../infra/local/runtime';
import { publishQos1 } from './harness';

const ADMIN = 'trb_refusals-admin-token-0123456789';

/** What a device sees when it connects: the CONNACK return code of a refusal, or 'connected'. */
function connect(url: string, opts: { username: string; password: string; clientId: string; protocolVersion?: 4 | 5 }): Promise<{ result: number | 'connected'; client: mqtt.MqttClient }> {
  const client = mqtt.connect(url, { ...opts, protocolVersion: opts.protocolVersion ?? 4, reconnectPeriod: 0, connectTimeout: 5_000 });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ result: 'connected', client }));
    client.once('error', (err) => resolve({ result: (err as { code?: number }).code ?? -1, client }));
  });
}

/** The stats are counted after the refusal is answered: poll a little. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('MQTT refusals are logged with their reason and counted on the stream', () => {
  let rt: Runtime;
  let dataDir: string;
  let url: string;
  let ingest: string;
  let read: string;
  const logged: { message: string; fields: Record<string, unknown> }[] = [];
  const api = async (path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${rt.httpPort}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return res.json() as Promise<any>;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-refusals-'));
    const log = { info: (message: string, fields: Record<string, unknown>) => logged.push({ message, fields }), error: () => {} };
    rt = await startRuntime({ httpPort: 0, mqttPort: 0, host: '127.0.0.1', dataDir, adminToken: ADMIN, quiet: false }, { demo: false, log, queue: { batchWindowMs: 5 } });
    url = `mqtt://127.0.0.1:${rt.mqttPort}`;
    const created = await api('/v1/streams', { id: 'meters', name: 'Meters', type: 'iot_sensor', schema: { deviceId: { type: 'string' }, kwh: { type: 'number', required: true } }, dimensions: ['deviceId'] });
    ingest = created.ingestToken;
    read = (await api('/v1/streams/meters/tokens', { scope: 'read' })).token;
  });
  afterAll(async () => {
    await rt?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers each refused login with the return code that names it, and keeps the ones of a known stream on its status', async () => {
    const cases = [
      { login: { username: 'm1', password: 'trb_not-a-token', clientId: 'm1' }, code: 4 },
      { login: { username: 'm1', password: read, clientId: 'm1' }, code: 5 },
      { login: { username: 'm1', password: ingest, clientId: 'mqttjs_4f2a' }, code: 2 },
      { login: { username: 'm1', password: ingest, clientId: 'm1', protocolVersion: 5 as const }, code: 1 },
      { login: { username: ingest, password: 'm1', clientId: ingest }, code: 4 },
    ];
    for (const c of cases) {
      const { result, client } = await connect(url, c.login);
      client.end(true);
      expect(result, JSON.stringify(c.login.clientId)).toBe(c.code);
    }
    const refusals = logged.filter((l) => l.message === 'mqtt connection refused');
    expect(refusals.map((r) => r.fields.reason)).toEqual([
      'unknown token (CONNACK return code 4)',
      'the token has no ingest scope (a read token cannot publish) (CONNACK return code 5)',
      "the client id 'mqttjs_4f2a' must equal the username (the device id 'm1') (CONNACK return code 2)",
      'the username looks like a token: the username is the device id, the password the ingest token (CONNACK return code 4)',
    ]);
    expect(JSON.stringify(logged)).not.toContain(ingest);
    expect(JSON.stringify(logged)).not.toContain(read);
    const status = await eventually(() => api('/v1/streams/meters/status'), (s) => s.recentRejections.length >= 2);
    const reasons = status.recentRejections.map((r: { reason: string }) => r.reason);
    expect(reasons).toContain("mqtt connection refused (device m1): the client id 'mqttjs_4f2a' must equal the username (the device id 'm1') (CONNACK return code 2)");
    expect(reasons).toContain('mqtt connection refused (device m1): the token has no ingest scope (a read token cannot publish) (CONNACK return code 5)');
  });

  it('closes the connection on an invalid payload without PUBACK, logs why, and counts the records as invalid', async () => {
    const before = (await api('/v1/streams/meters/status')).invalidCount;
    const { result, client } = await connect(url, { username: 'm2', password: ingest, clientId: 'm2' });
    expect(result).toBe('connected');
    expect(await publishQos1(client, 'tributary/meters/data', '[{"kwh": 1.5}, {"kwh": "lots"}]')).toBe('closed');
    client.end(true);
    const { client: again } = await connect(url, { username: 'm2', password: ingest, clientId: 'm2' });
    expect(await publishQos1(again, 'tributary/meters/data', 'not json')).toBe('closed');
    again.end(true);
    const { client: third } = await connect(url, { username: 'm2', password: ingest, clientId: 'm2' });
    expect(await publishQos1(third, 'tributary/other/data', '{"kwh": 1}')).toBe('closed');
    third.end(true);

    const publishes = logged.filter((l) => l.message === 'mqtt publish refused').map((l) => l.fields);
    expect(publishes).toEqual([
      { streamId: 'meters', deviceId: 'm2', reason: 'invalid payload: record 1: kwh: must be a number, got string "lots"' },
      { streamId: 'meters', deviceId: 'm2', reason: expect.stringMatching(/^The body is not valid JSON/) },
      { streamId: 'meters', deviceId: 'm2', reason: "publish refused: a device of stream 'meters' may publish only to tributary/meters/data" },
    ]);
    const status = await eventually(() => api('/v1/streams/meters/status'), (s) => s.recentRejections.length >= 5);
    expect(status.invalidCount - before).toBe(2); // the strict batch's invalid record, the unreadable message
    expect(status.recentRejections[0].reason).toBe("mqtt publish refused (device m2): publish refused: a device of stream 'meters' may publish only to tributary/meters/data");
  });

  it('closes the connection on a publish to a paused stream, logs it, and counts no invalid record', async () => {
    await api('/v1/streams/meters/pause', {});
    const before = (await api('/v1/streams/meters/status')).invalidCount;
    await new Promise((r) => setTimeout(r, 1_100)); // the broker reuses a stream definition for a second
    const { client } = await connect(url, { username: 'm3', password: ingest, clientId: 'm3' });
    expect(await publishQos1(client, 'tributary/meters/data', '{"kwh": 2}')).toBe('closed');
    client.end(true);
    const last = logged.filter((l) => l.message === 'mqtt publish refused').at(-1)!;
    expect(last.fields).toEqual({ streamId: 'meters', deviceId: 'm3', reason: expect.stringMatching(/paused/) });
    const status = await eventually(() => api('/v1/streams/meters/status'), (s) => s.recentRejections[0].reason.includes('m3'));
    expect(status.invalidCount).toBe(before);
    await api('/v1/streams/meters/resume', {});
  });
});
