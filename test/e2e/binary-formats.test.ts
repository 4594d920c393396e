import { encode as msgpack } from '@msgpack/msgpack';
import { encode as cbor } from 'cborg';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';

const ADMIN = 'trb_binary-formats-admin-token-0123456789';
const T0 = Math.floor((Date.now() - 600_000) / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('MessagePack and CBOR bodies on POST /v1/streams/{id}/data, on the local runtime', () => {
  let rt: RuntimeProcess;
  let token: string;

  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${rt.base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return (await res.json()) as any;
  };
  const post = (type: string, bytes: Uint8Array) =>
    fetch(`${rt.base}/v1/streams/freezers/data`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: bytes });

  async function pointsOf(count: number): Promise<any[]> {
    const until = Date.now() + 15_000;
    for (;;) {
      const { points } = await admin(`/v1/streams/freezers/data?granularity=raw&start=${iso(T0)}&end=${iso(T0 + 3_600_000)}&limit=1000`);
      if (points.length >= count || Date.now() > until) return points;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN, TRIBUTARY_QUIET: '1' });
    const schema = {
      deviceId: { type: 'string', required: true },
      temperature: { type: 'number', range: { min: -50, max: 50 } },
      door: { type: 'boolean' },
      count: { type: 'integer' },
      note: { type: 'string' },
    };
    token = (await admin('/v1/streams', { id: 'freezers', name: 'Freezers', type: 'iot_sensor', schema, dimensions: ['deviceId'] })).ingestToken;
  });
  afterAll(() => rt?.close());

  it('stores the records of a MessagePack and a CBOR body exactly as sent', async () => {
    const viaMsgpack = [
      { deviceId: 'm1', temperature: -18.5, door: false, count: 3, note: 'é😀', timestamp: iso(T0) },
      { deviceId: 'm2', temperature: 4.25, timestamp: T0 + 1000 },
    ];
    const viaCbor = { deviceId: 'c1', temperature: -20.125, door: true, count: -7, note: 'cbor', timestamp: iso(T0 + 2000) };
    const a = await post('application/msgpack', msgpack(viaMsgpack));
    expect(a.status).toBe(202);
    expect(await a.json()).toEqual({ accepted: 2 });
    const b = await post('application/cbor', cbor(viaCbor));
    expect(b.status).toBe(202);

    const points = await pointsOf(3);
    expect(points).toEqual([
      { time: iso(T0), dimensions: { deviceId: 'm1' }, values: { temperature: -18.5, door: false, count: 3, note: 'é😀' } },
      { time: iso(T0 + 1000), dimensions: { deviceId: 'm2' }, values: { temperature: 4.25 } },
      { time: iso(T0 + 2000), dimensions: { deviceId: 'c1' }, values: { temperature: -20.125, door: true, count: -7, note: 'cbor' } },
    ]);
  });

  it('refuses a map nested 10,000 deep, bytes that are not the format, and an invalid record, each with problem+json, and stores none', async () => {
    const deep = new Uint8Array(30_001);
    for (let i = 0; i < 10_000; i++) deep.set([0x81, 0xa1, 0x61], i * 3);
    deep[30_000] = 1;
    const nested = await post('application/msgpack', deep);
    expect(nested.status).toBe(400);
    expect(nested.headers.get('content-type')).toBe('application/problem+json');
    expect(((await nested.json()) as { detail: string }).detail).toMatch(/nested deeper than 32 levels/);

    const cborDeep = new Uint8Array(30_001);
    for (let i = 0; i < 10_000; i++) cborDeep.set([0xa1, 0x61, 0x61], i * 3);
    cborDeep[30_000] = 1;
    expect((await post('application/cbor', cborDeep)).status).toBe(400);

    const garbage = await post('application/cbor', Uint8Array.from([0xff, 0x00, 0x13]));
    expect(garbage.status).toBe(400);

    const invalid = await post('application/msgpack', msgpack([{ deviceId: 'bad', temperature: 99, timestamp: iso(T0 + 5000) }]));
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { errors: unknown[] }).errors).toEqual([{ index: 0, path: ['temperature'], message: expect.any(String) }]);

    expect((await post('application/msgpack', msgpack({ deviceId: 'after', timestamp: iso(T0 + 6000) }))).status).toBe(202);
    const points = await pointsOf(4);
    expect(points.map((p) => p.dimensions.deviceId)).toEqual(['m1', 'm2', 'c1', 'after']);
  });

  it('serves the stream as a .proto and takes application/x-protobuf bodies encoded with it, before and after a field is added', async () => {
    const res = await fetch(`${rt.base}/v1/streams/freezers/schema.proto`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const proto = await res.text();
    expect(proto).toContain('optional string deviceId = 1; // dimension');
    const Records = protobuf.parse(proto, { keepCase: true }).root.lookupType('tributary.streams.freezers.Records');
    const encode = (records: unknown[]) => Records.encode(Records.fromObject({ records })).finish();

    const sent = [
      { deviceId: 'p1', temperature: -21.75, door: true, count: 12, note: 'proto', timestamp: T0 + 10_000 },
      { deviceId: 'p2', temperature: 1.5, timestamp: T0 + 11_000 },
    ];
    const ok = await post('application/x-protobuf', encode(sent));
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ accepted: 2 });

    // a field added: the old .proto's bytes still decode, and its numbers did not move
    const patch = await fetch(`${rt.base}/v1/streams/freezers`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ schema: { humidity: { type: 'number' } } }),
    });
    expect(patch.status).toBe(200);
    const grown = await (await fetch(`${rt.base}/v1/streams/freezers/schema.proto`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    for (const line of proto.split('\n').filter((l) => l.includes(' = '))) expect(grown).toContain(line);
    expect(grown).toMatch(/optional double humidity = 7;/);
    expect((await post('application/x-protobuf', encode([{ deviceId: 'p3', temperature: 2, timestamp: T0 + 12_000 }]))).status).toBe(202);

    // bytes that are not a Records message of this schema: an unknown field number
    const alien = await post('application/x-protobuf', Uint8Array.from([0x0a, 0x03, 0xf8, 0x06, 0x01]));
    expect(alien.status).toBe(400);
    expect(((await alien.json()) as { detail: string }).detail).toMatch(/field number 111 .* is not in the stream's schema/);

    const points = await pointsOf(7);
    expect(points.slice(4)).toEqual([
      { time: iso(T0 + 10_000), dimensions: { deviceId: 'p1' }, values: { temperature: -21.75, door: true, count: 12, note: 'proto' } },
      { time: iso(T0 + 11_000), dimensions: { deviceId: 'p2' }, values: { temperature: 1.5 } },
      { time: iso(T0 + 12_000), dimensions: { deviceId: 'p3' }, values: { temperature: 2 } },
    ]);
  });
});
