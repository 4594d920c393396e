import { connect as tcp, type Socket } from 'node:net';
// the packet codec aedes and mqtt.js share: to resend one PUBLISH byte for byte, as a device whose PUBACK was lost does
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';

const ADMIN = 'trb_idempotency-admin-token-0123456789';

// Records without a timestamp: each one stored gets its receive time, so a request queued twice is stored twice.
const READINGS = [{ deviceId: 'f1', temperature: -18.5 }, { deviceId: 'f2', temperature: -19 }, { deviceId: 'f3', temperature: -17.25 }];

describe('Idempotency-Key on POST /v1/streams/{id}/data, through real HTTP on the local runtime', () => {
  let rt: RuntimeProcess;
  let ingest: string;
  let other: string;
  let sentinels = 0;

  const post = (body: unknown, init: { key?: string; stream?: string; token?: string } = {}) =>
    fetch(`${rt.base}/v1/streams/${init.stream ?? 'freezers'}/data`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${init.token ?? ingest}`,
        'content-type': 'application/json',
        ...(init.key !== undefined && { 'idempotency-key': init.key }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${rt.base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return (await res.json()) as any;
  };

  /**
   * Every point of the stream once everything queued before now is stored: a sentinel record (without a key)
   * goes on the queue behind them, and the writer stores the queue in order.
   */
  async function settledPoints(stream = 'freezers'): Promise<any[]> {
    const id = `sentinel-${++sentinels}`;
    const token = stream === 'freezers' ? ingest : other;
    expect((await post({ deviceId: id, temperature: 0 }, { stream, token })).status).toBe(202);
    const until = Date.now() + 15_000;
    for (;;) {
      const { points } = await admin(`/v1/streams/${stream}/data?granularity=raw&limit=10000`);
      if (points.some((p: any) => p.dimensions?.deviceId === id || p.values?.deviceId === id)) {
        return points.filter((p: any) => !String(p.dimensions?.deviceId ?? p.values?.deviceId).startsWith('sentinel-'));
      }
      if (Date.now() > until) throw new Error(`the sentinel ${id} was not stored within 15 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN, TRIBUTARY_QUIET: '1' });
    const schema = { deviceId: { type: 'string', required: true }, temperature: { type: 'number', range: { min: -50, max: 50 } } };
    ingest = (await admin('/v1/streams', { id: 'freezers', name: 'Freezers', type: 'iot_sensor', schema, dimensions: ['deviceId'] })).ingestToken;
    other = (await admin('/v1/streams', { id: 'fridges', name: 'Fridges', type: 'iot_sensor', schema, dimensions: ['deviceId'] })).ingestToken;
  });
  afterAll(() => rt?.close());

  it('replays the first answer to a retry with the same key and body, and stores the records once', async () => {
    const first = await post(READINGS, { key: 'batch-0001' });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const firstBody = await first.text();
    expect(JSON.parse(firstBody)).toEqual({ accepted: 3 });

    for (let i = 0; i < 3; i++) {
      const retry = await post(READINGS, { key: 'batch-0001' });
      expect(retry.status).toBe(202);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.headers.get('content-type')).toBe('application/json');
      expect(await retry.text()).toBe(firstBody);
    }
    const points = await settledPoints();
    expect(points).toHaveLength(3);
  });

  it('still replays after the runtime was killed (-9) and started again: keys are durable', async () => {
    await rt.kill();
    await rt.start();
    const retry = await post(READINGS, { key: 'batch-0001' });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await settledPoints()).toHaveLength(3);
  });

  it('loses nothing when killed (-9) after the records are queued and before the key is recorded; the key stays in progress', async () => {
    await rt.kill();
    await rt.start({ TRIBUTARY_TEST_CRASH_MID_IDEMPOTENT_INGEST: '1' });
    const body = [{ deviceId: 'k1', temperature: -20 }, { deviceId: 'k2', temperature: -21 }];
    await expect(post(body, { key: 'crash-1' })).rejects.toThrow(); // the process died answering
    expect(await rt.exited()).toBe('SIGKILL');
    await rt.start();
    const points = await settledPoints();
    expect(points.filter((p) => ['k1', 'k2'].includes(p.dimensions?.deviceId))).toHaveLength(2);
    // the claim holds for the request's time (30 s on one machine): a retry now is told to wait, not queued again
    const retry = await post(body, { key: 'crash-1' });
    expect(retry.status).toBe(409);
    expect(((await retry.json()) as any).title).toBe('Request in progress');
    expect((await settledPoints()).filter((p) => ['k1', 'k2'].includes(p.dimensions?.deviceId))).toHaveLength(2);
  });

  it('answers the same key with another body 422 problem+json and queues nothing', async () => {
    const res = await post([{ deviceId: 'f1', temperature: -30 }], { key: 'batch-0001' });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as any;
    expect(problem).toMatchObject({ status: 422, title: 'Idempotency key reused', type: 'https://tributary.dev/problems/idempotency-key_reused' });
    expect(problem.detail).toContain('Idempotency-Key');
    expect((await settledPoints()).filter((p) => ['f1', 'f2', 'f3'].includes(p.dimensions?.deviceId))).toHaveLength(3);
  });

  it('lets one of several concurrent requests with one key queue its records; the others get 409 or the replay', async () => {
    const body = [{ deviceId: 'c1', temperature: 1 }, { deviceId: 'c2', temperature: 2 }];
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await post(body, { key: 'concurrent-1' });
        return { status: res.status, replayed: res.headers.get('idempotent-replayed'), type: res.headers.get('content-type'), body: (await res.json()) as any };
      }),
    );
    const fresh = answers.filter((a) => a.status === 202 && a.replayed === null);
    expect(fresh).toHaveLength(1);
    for (const a of answers) {
      if (a.status === 409) expect(a).toMatchObject({ type: 'application/problem+json', body: { title: 'Request in progress' } });
      else expect(a).toMatchObject({ status: 202, body: { accepted: 2 } });
    }
    const points = await settledPoints();
    expect(points.filter((p) => ['c1', 'c2'].includes(p.dimensions?.deviceId))).toHaveLength(2);
  });

  it('keeps keys per stream: the same key on another stream is a new request', async () => {
    const res = await post([{ deviceId: 'x1', temperature: 4 }], { key: 'batch-0001', stream: 'fridges', token: other });
    expect(res.status).toBe(202);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(await settledPoints('fridges')).toHaveLength(1);
  });

  it('keeps nothing for a refused request: the key is free for the corrected retry', async () => {
    const refused = await post([{ deviceId: 'r1', temperature: 99 }], { key: 'fix-me' });
    expect(refused.status).toBe(400);
    const corrected = await post([{ deviceId: 'r1', temperature: 9 }], { key: 'fix-me' });
    expect(corrected.status).toBe(202);
    expect(corrected.headers.get('idempotent-replayed')).toBeNull();
    expect((await settledPoints()).filter((p) => p.dimensions?.deviceId === 'r1')).toHaveLength(1);
  });

  it('takes the draft standard\'s quoted form as the same key', async () => {
    const body = [{ deviceId: 'q1', temperature: 3 }];
    expect((await post(body, { key: '"8e03978e-40d5-43e8-bc93-6894a57f9324"' })).status).toBe(202);
    const bare = await post(body, { key: '8e03978e-40d5-43e8-bc93-6894a57f9324' });
    expect(bare.headers.get('idempotent-replayed')).toBe('true');
  });

  it.each([
    ['empty', '', 'is empty'],
    ['256 characters long', 'k'.repeat(256), 'is 256 characters long; at most 255 are allowed'],
    ['not ASCII', 'caf\u00e9-1', 'holds characters other than printable ASCII'],
  ])('refuses a key that is %s with 400 naming the header', async (_what, key, message) => {
    const res = await post([{ deviceId: 'b1', temperature: 1 }], { key });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as any;
    expect(problem.detail).toContain('Idempotency-Key');
    expect(problem.errors).toEqual([{ path: ['headers', 'Idempotency-Key'], message: expect.stringContaining(message) }]);
  });

  it('accepts a 255-character key', async () => {
    expect((await post([{ deviceId: 'l1', temperature: 1 }], { key: 'k'.repeat(255) })).status).toBe(202);
  });

  it('leaves requests without the header as they were: each one is queued and stored', async () => {
    const body = [{ deviceId: 'n1', temperature: 5 }];
    for (let i = 0; i < 2; i++) {
      const res = await post(body);
      expect(res.status).toBe(202);
      expect(res.headers.get('idempotent-replayed')).toBeNull();
    }
    expect((await settledPoints()).filter((p) => p.dimensions?.deviceId === 'n1')).toHaveLength(2);
  });

  it('MQTT has no header: a QoS 1 publish resent with DUP is queued again, so only records with their own time are stored once', async () => {
    const device = await rawDevice(rt.mqttPort, 'dup1', ingest);
    const time = Date.now() - 60_000;
    for (const [id, payload] of [[11, { deviceId: 'dup1', temperature: 1 }], [12, { deviceId: 'dup1', temperature: 2, timestamp: time }]] as const) {
      const publish = { cmd: 'publish' as const, topic: 'tributary/freezers/data', payload: Buffer.from(JSON.stringify(payload)), qos: 1 as const, messageId: id, retain: false };
      device.send({ ...publish, dup: false });
      await device.pubacks(id === 11 ? 1 : 3);
      // resent a moment later (the device missed the PUBACK), as after a reconnect
      await new Promise((resolve) => setTimeout(resolve, 20));
      device.send({ ...publish, dup: true });
      await device.pubacks(id === 11 ? 2 : 4);
    }
    device.socket.destroy();
    const points = (await settledPoints()).filter((p) => p.dimensions?.deviceId === 'dup1');
    // the one without a time got two receive times; the one with a time is the same point written twice
    expect(points.filter((p) => p.values.temperature === 1)).toHaveLength(2);
    expect(points.filter((p) => p.values.temperature === 2)).toEqual([expect.objectContaining({ time: new Date(time).toISOString() })]);
  });
});

/** A device speaking MQTT 3.1.1 packet by packet, logged in: it sends packets and waits for PUBACKs. */
async function rawDevice(port: number, deviceId: string, token: string): Promise<{ socket: Socket; send(p: Packet): void; pubacks(n: number): Promise<void> }> {
  const socket = tcp(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const received: Packet[] = [];
  let wake = () => {};
  parser.on('packet', (p) => {
    received.push(p);
    wake();
  });
  socket.on('data', (d) => parser.parse(d));
  const send = (p: Packet) => socket.write(mqttPacket.generate(p));
  const until = async (ok: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`no answer; got ${received.map((p) => p.cmd).join(', ')}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: deviceId, keepalive: 30, username: deviceId, password: Buffer.from(token) });
  await until(() => received.some((p) => p.cmd === 'connack'));
  expect(received.find((p) => p.cmd === 'connack')).toMatchObject({ returnCode: 0 });
  return { socket, send, pubacks: (n) => until(() => received.filter((p) => p.cmd === 'puback').length >= n) };
}
