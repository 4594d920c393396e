import { connect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rssBytes, startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { ADMIN, publishQos1 } from './harness';

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An MQTT fixed header: packet type byte, then the remaining length as a variable byte integer. */
function fixedHeader(type: number, length: number): Buffer {
  const bytes = [type];
  do {
    let b = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) b |= 0x80;
    bytes.push(b);
  } while (length > 0);
  return Buffer.from(bytes);
}

function rawConnection(port: number): Promise<{ socket: Socket; closedAfter: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const started = Date.now();
    const closedAfter = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.once('connect', () => resolve({ socket, closedAfter }));
    socket.once('error', reject);
  });
}

/** Writes `total` bytes in 1 MiB chunks as fast as the peer reads them; stops when the connection closes. */
async function stream(socket: Socket, total: number): Promise<number> {
  const chunk = Buffer.alloc(MB, 0x61);
  let sent = 0;
  while (sent < total && !socket.destroyed) {
    sent += chunk.length;
    if (!socket.write(chunk)) await new Promise((r) => (socket.once('drain', r), socket.once('close', r)));
  }
  return sent;
}

/**
 * The MQTT broker of the runtime process under the attacks of issue 18: CONNECTs declaring 256 MB, a
 * CONNECT trickled a byte a second, a PUBLISH over IoT Core's 128 KiB. Memory is the runtime's VmRSS.
 */
describe('the MQTT broker refuses oversized and slow packets', () => {
  let rt: RuntimeProcess;
  let ingestToken: string;

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN });
    const created = await fetch(`${rt.base}/v1/streams`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'edge', name: 'Edge', type: 'iot_sensor', schema: { deviceId: { type: 'string' }, n: { type: 'integer' }, pad: { type: 'string' } }, dimensions: ['deviceId'] }),
    });
    expect(created.status).toBe(201);
    ingestToken = ((await created.json()) as { ingestToken: string }).ingestToken;
  });
  afterAll(() => rt?.close());

  it('two CONNECTs declaring 256 MB are cut at their fixed header, before anything is buffered', async () => {
    const pid = rt.pid!;
    const before = await rssBytes(pid);
    const conns = await Promise.all([rawConnection(rt.mqttPort), rawConnection(rt.mqttPort)]);
    let peak = before;
    const sampling = (async () => {
      for (const until = Date.now() + 4_000; Date.now() < until; await sleep(100)) peak = Math.max(peak, await rssBytes(pid));
    })();
    const sent = await Promise.all(
      conns.map(async ({ socket }) => {
        socket.write(fixedHeader(0x10, 256 * MB - 1)); // the largest remaining length MQTT can declare
        return stream(socket, 150 * MB);
      }),
    );
    await sampling;
    console.log(`256 MB CONNECTs: RSS ${(before / MB).toFixed(0)} → ${(peak / MB).toFixed(0)} MB; bytes sent before the cut ${sent.map((s) => `${s / MB} MiB`).join(', ')}`);
    const closed = await Promise.all(conns.map((c) => Promise.race([c.closedAfter, sleep(5_000).then(() => Number.POSITIVE_INFINITY)])));
    for (const c of conns) c.socket.destroy();
    expect(peak - before).toBeLessThan(40 * MB);
    expect(closed.every((ms) => ms < 5_000)).toBe(true);
  });

  it('a CONNECT trickled a byte a second is cut within the connect timeout', async () => {
    const { socket, closedAfter } = await rawConnection(rt.mqttPort);
    socket.write(fixedHeader(0x10, 100));
    const trickle = setInterval(() => socket.writable && socket.write('x'), 1_000);
    const cut = await Promise.race([closedAfter, sleep(25_000).then(() => Number.POSITIVE_INFINITY)]);
    clearInterval(trickle);
    socket.destroy();
    expect(cut).toBeLessThan(25_000);
  }, 40_000);

  it('a publish over 128 KiB closes the connection and is not stored; one under it is acknowledged', async () => {
    const device = async () => {
      const client = mqtt.connect(`mqtt://127.0.0.1:${rt.mqttPort}`, { username: 'd1', password: ingestToken, clientId: 'd1', reconnectPeriod: 0, protocolVersion: 4 });
      await new Promise<void>((resolve, reject) => (client.once('connect', () => resolve()), client.once('error', reject)));
      return client;
    };
    const T0 = Date.parse('2026-01-01T00:00:00Z');
    const records = (from: number, count: number) =>
      JSON.stringify(Array.from({ length: count }, (_, i) => ({ deviceId: 'd1', n: from + i, pad: 'p'.repeat(60), timestamp: new Date(T0 + (from + i) * 1000).toISOString() })));
    const under = records(0, 900);
    const over = records(1000, 2000);
    expect(Buffer.byteLength(under)).toBeLessThan(128 * 1024);
    expect(Buffer.byteLength(over)).toBeGreaterThan(129 * 1024);
    const small = await device();
    expect(await publishQos1(small, 'tributary/edge/data', under)).toBe('acked');
    small.end(true);
    const big = await device();
    expect(await publishQos1(big, 'tributary/edge/data', over)).toBe('closed');
    big.end(true);
    const query = async () => {
      const res = await fetch(`${rt.base}/v1/streams/edge/data?start=2026-01-01T00:00:00Z&end=2026-02-01T00:00:00Z&fields=n&limit=10000`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      return ((await res.json()) as { points: { values: { n: number } }[] }).points.map((p) => p.values.n);
    };
    let ns: number[] = [];
    for (const until = Date.now() + 15_000; Date.now() < until && ns.length < 900; await sleep(100)) ns = await query();
    await sleep(500);
    ns = await query();
    expect(ns.length).toBe(900);
    expect(ns.every((n) => n < 1000)).toBe(true);
  });
});
