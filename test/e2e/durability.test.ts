import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN } from './harness';

const T0 = Date.parse('2026-01-01T00:00:00Z');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** `npm start` as a user runs it: a separate process we can kill -9. */
function start(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`not started: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Tributary is running')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe('kill -9 loses no acknowledged record', () => {
  let dataDir = '';
  let child: ChildProcess | undefined;
  afterAll(async () => {
    child?.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('every record acknowledged over HTTP (202) and MQTT (PUBACK) before the kill is there after restart', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-kill-'));
    const env = { PORT: String(await freePort()), MQTT_PORT: String(await freePort()), TRIBUTARY_DATA_DIR: dataDir, TRIBUTARY_ADMIN_TOKEN: ADMIN };
    const base = `http://127.0.0.1:${env.PORT}`;
    const auth = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
    child = await start(env);

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
    const device = mqtt.connect(`mqtt://127.0.0.1:${env.MQTT_PORT}`, { username: 'm1', password: ingestToken, clientId: 'm1', reconnectPeriod: 0 });
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
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    stop = true;
    device.end(true);
    await Promise.all(workers);
    expect(acked.size).toBeGreaterThan(100);

    child = await start(env);
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
