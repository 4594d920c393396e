import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as msgpack } from '@msgpack/msgpack';
import { encode as cbor } from 'cborg';
import mqtt from 'mqtt';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type Runtime } from '../../infra/local/runtime';

const ADMIN = 'trb_mqtt-formats-admin-token-0123456789';
const T0 = Math.floor((Date.now() - 600_000) / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Connects as a device of the stream and publishes one QoS 1 message: `acked` on PUBACK, `closed` on a refusal. */
async function publish(url: string, token: string, streamId: string, payload: Uint8Array | string): Promise<'acked' | 'closed'> {
  const client = mqtt.connect(url, { username: `${streamId}-dev`, password: token, clientId: `${streamId}-dev`, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  try {
    return await new Promise((resolve) => {
      client.once('close', () => resolve('closed'));
      client.publish(`tributary/${streamId}/data`, Buffer.from(payload), { qos: 1 }, (err) => resolve(err ? 'closed' : 'acked'));
    });
  } finally {
    client.end(true);
  }
}

describe("MQTT payloads in a stream's mqttFormat, on the local runtime", () => {
  let rt: Runtime;
  let dataDir: string;
  let url: string;
  const tokens: Record<string, string> = {};
  const api = async (path: string, body?: unknown, method?: string) => {
    const res = await fetch(`http://127.0.0.1:${rt.httpPort}${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text()) as any };
  };
  async function pointsOf(id: string, count: number, ms = 15_000): Promise<any[]> {
    const until = Date.now() + ms;
    for (;;) {
      const { body } = await api(`/v1/streams/${id}/data?granularity=raw&start=${iso(T0)}&end=${iso(T0 + 3_600_000)}`);
      if (body.points.length >= count || Date.now() > until) return body.points;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const schema = { deviceId: { type: 'string', required: true }, temperature: { type: 'number', range: { min: -50, max: 50 } }, door: { type: 'boolean' } };
  const FORMATS = ['msgpack', 'cbor', 'protobuf', 'csv', 'ndjson', 'line-protocol'] as const;
  const id = (format: string) => `fz-${format}`;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-mqtt-formats-'));
    rt = await startRuntime({ httpPort: 0, mqttPort: 0, host: '127.0.0.1', dataDir, adminToken: ADMIN, quiet: true }, { demo: false, queue: { batchWindowMs: 5 } });
    url = `mqtt://127.0.0.1:${rt.mqttPort}`;
    for (const format of FORMATS) {
      const created = await api('/v1/streams', { id: id(format), name: format, type: 'iot_sensor', schema, dimensions: ['deviceId'], mqttFormat: format });
      expect(created.status).toBe(201);
      expect(created.body.mqttFormat).toBe(format);
      tokens[format] = created.body.ingestToken;
    }
  });
  afterAll(async () => {
    await rt?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores what each format carried, exactly as sent, and refuses bytes not in the format without losing what was stored', async () => {
    const records = [
      { deviceId: 'a', temperature: -18.5, door: true, timestamp: iso(T0) },
      { deviceId: 'b', temperature: 4.25, door: false, timestamp: iso(T0 + 1000) },
    ];
    const proto = (await api(`/v1/streams/${id('protobuf')}/schema.proto`)).body as string;
    const Records = protobuf.parse(proto, { keepCase: true }).root.lookupType(`tributary.streams.${id('protobuf').replace('-', '_')}.Records`);
    const ns = (iso: string) => `${BigInt(Date.parse(iso)) * 1_000_000n}`;
    const payloads: Record<(typeof FORMATS)[number], Uint8Array | string> = {
      msgpack: msgpack(records),
      cbor: cbor(records),
      protobuf: Records.encode(Records.fromObject({ records: records.map((r) => ({ ...r, timestamp: Date.parse(r.timestamp) })) })).finish(),
      csv: `deviceId,temperature,door,timestamp\r\n${records.map((r) => `${r.deviceId},${r.temperature},${r.door},${r.timestamp}`).join('\r\n')}\r\n`,
      ndjson: records.map((r) => JSON.stringify(r)).join('\n'),
      'line-protocol': records.map((r) => `freezer,deviceId=${r.deviceId} temperature=${r.temperature},door=${r.door} ${ns(r.timestamp)}`).join('\n'),
    };
    for (const format of FORMATS) expect([format, await publish(url, tokens[format]!, id(format), payloads[format])]).toEqual([format, 'acked']);
    for (const format of FORMATS) {
      expect([format, await pointsOf(id(format), 2)]).toEqual([
        format,
        [
          { time: iso(T0), dimensions: { deviceId: 'a' }, values: { temperature: -18.5, door: true } },
          { time: iso(T0 + 1000), dimensions: { deviceId: 'b' }, values: { temperature: 4.25, door: false } },
        ],
      ]);
    }

    // JSON on a MessagePack stream, a ragged CSV row, a bad line: each refused (no PUBACK), nothing stored
    expect(await publish(url, tokens.msgpack!, id('msgpack'), '{"deviceId": "x"}')).toBe('closed');
    expect(await publish(url, tokens.csv!, id('csv'), 'deviceId,temperature\nx,1,2\n')).toBe('closed');
    expect(await publish(url, tokens['line-protocol']!, id('line-protocol'), 'freezer,deviceId=x temperature=1,temperature=2')).toBe('closed');
    expect(await publish(url, tokens.cbor!, id('cbor'), cbor({ deviceId: 'hot', temperature: 99, timestamp: iso(T0 + 2000) }))).toBe('closed');
    // a refusal is answered before anything is queued: a short wait would show a stray point
    for (const format of ['msgpack', 'csv', 'line-protocol', 'cbor']) expect((await pointsOf(id(format), 3, 500)).length).toBe(2);
    const status = (await api(`/v1/streams/${id('csv')}/status`)).body;
    expect(status.recentRejections[0].reason).toMatch(/row|column|cells/i);
  });

  it('takes a stream back to JSON with a PATCH, and refuses a format it does not know at its path', async () => {
    const patched = await api(`/v1/streams/${id('ndjson')}`, { mqttFormat: 'json' }, 'PATCH');
    expect(patched.status).toBe(200);
    expect(await publish(url, tokens.ndjson!, id('ndjson'), JSON.stringify([{ deviceId: 'c', temperature: 1, timestamp: iso(T0 + 5000) }]))).toBe('acked');
    expect((await pointsOf(id('ndjson'), 3)).map((p) => p.dimensions.deviceId)).toEqual(['a', 'b', 'c']);
    const bad = await api('/v1/streams', { id: 'fz-xml', name: 'xml', type: 'iot_sensor', schema, mqttFormat: 'xml' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: ['mqttFormat'] })]);
  });
});
