import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { ADMIN } from './harness';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('kill -9 loses no acknowledged record', () => {
  let runtime: RuntimeProcess | undefined;
  afterAll(async () => {
    await runtime?.close();
  });

  it('every record acknowledged over HTTP (202) and MQTT (PUBACK) before the kill is there after restart', async () => {
    // `npm start` as a user runs it: a separate process we can kill -9
    runtime = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN });
    const { base } = runtime;
    const auth = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });

    const created = await fetch(`${base}/v1/streams`, {
      method: 'POST',
      headers: auth(ADMIN),
      body: JSON.stringify({ id: 'kill', name: 'Kill test', type: 'iot_sensor', schema: { deviceId: { type: 'string' }, n: { type: 'integer' } }, dimensions: ['deviceId'] }),
    });
    expect(created.status).toBe(201);
    const { ingestToken } = (await created.json()) as { ingestToken: string };

    const acked = new Set<string>();
    let stop = false;
    let seq = 0;
    const httpWorker = async (w: number) => {
      while (!stop) {
        const batch = Array.from({ length: 50 }, () => ({ deviceId: `h${w}`, n: seq, timestamp: new Date(T0 + seq++ * 1000).toISOString() }));
        try {
          const r = await fetch(`${base}/v1/streams/kill/data`, { method: 'POST', headers: auth(ingestToken), body: JSON.stringify(batch) });
          if (r.status === 202) for (const rec of batch) acked.add(`${rec.deviceId}/${rec.n}`);
        } catch {
          return; // the server is gone
        }
      }
    };
    const device = mqtt.connect(`mqtt://127.0.0.1:${runtime.mqttPort}`, { username: 'm1', password: ingestToken, clientId: 'm1', reconnectPeriod: 0 });
    await new Promise((resolve, reject) => (device.once('connect', resolve), device.once('error', reject)));
    device.on('error', () => {});
    const mqttWorker = async () => {
      while (!stop && device.connected) {
        const n = seq++;
        const ok = await new Promise<boolean>((resolve) => {
          const onClose = () => resolve(false);
          device.once('close', onClose);
          device.publish('tributary/kill/data', JSON.stringify({ n, timestamp: new Date(T0 + n * 1000).toISOString() }), { qos: 1 }, (err) => {
            device.off('close', onClose);
            resolve(!err);
          });
        });
        if (ok) acked.add(`m1/${n}`);
      }
    };
    const workers = [httpWorker(0), httpWorker(1), httpWorker(2), mqttWorker()];
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await runtime.kill();
    stop = true;
    device.end(true);
    await Promise.all(workers);
    expect(acked.size).toBeGreaterThan(100);

    await runtime.start();
    const want = [...acked];
    const until = Date.now() + 30_000;
    let found = new Set<string>();
    while (Date.now() < until) {
      found = new Set<string>();
      let cursor = '';
      do {
        const r = await fetch(`${base}/v1/streams/kill/data?start=${new Date(T0).toISOString()}&end=${new Date(T0 + 10 * 86_400_000).toISOString()}&limit=10000${cursor && `&cursor=${cursor}`}`, { headers: auth(ADMIN) });
        const page = (await r.json()) as { points: { dimensions: { deviceId: string }; values: { n: number } }[]; nextCursor?: string };
        for (const p of page.points) found.add(`${p.dimensions.deviceId}/${p.values.n}`);
        cursor = page.nextCursor ?? '';
      } while (cursor);
      if (want.every((k) => found.has(k))) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const missing = want.filter((k) => !found.has(k));
    expect(missing).toEqual([]);
  });
});
