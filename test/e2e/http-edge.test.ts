import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rssBytes, startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';
import { ADMIN } from './harness';

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One raw HTTP/1.1 connection: what the server sent back, and when it closed. */
interface Raw {
  socket: Socket;
  received: () => string;
  closed: Promise<number>;
}

function open(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => {});
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

const head = (path: string, headers: Record<string, string | number>) =>
  `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;

/** The largest RSS of the runtime over `ms`, sampled every 100 ms. */
async function peakRss(pid: number, ms: number): Promise<number> {
  let peak = 0;
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) peak = Math.max(peak, await rssBytes(pid));
  return peak;
}

/**
 * The HTTP edge of the runtime process under the attacks of issue 18: half-sent 5 MB bodies (without a
 * token and with one), slowloris headers and bodies, an oversized header. Memory is the runtime's VmRSS.
 */
describe('the HTTP edge holds under slow and oversized requests', () => {
  let rt: RuntimeProcess;
  let port: number;

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN });
    port = Number(new URL(rt.base).port);
    const created = await fetch(`${rt.base}/v1/streams`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'edge', name: 'Edge', type: 'iot_sensor', schema: { v: { type: 'number' } } }),
    });
    expect(created.status).toBe(201);
  });
  afterAll(() => rt?.close());

  /** 60 connections each declare 5 MB and send half of it, then hold; the RSS growth is measured meanwhile. */
  async function halfSentBodies(authorization: string | undefined): Promise<{ growth: number; conns: Raw[] }> {
    const pid = rt.pid!;
    await fetch(`${rt.base}/v1/streams/edge/status`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const before = await rssBytes(pid);
    const half = Buffer.alloc(2.5 * MB, 'x');
    const conns = await Promise.all(Array.from({ length: 60 }, () => open(port)));
    for (const c of conns) {
      c.socket.write(head('/v1/streams/edge/data', { 'content-type': 'application/json', 'content-length': 5 * MB, ...(authorization && { authorization }) }));
      c.socket.write(half);
    }
    const peak = await peakRss(pid, 4_000);
    const growth = peak - before;
    console.log(`half-sent bodies (${authorization ? 'with' : 'without'} a token): RSS ${(before / MB).toFixed(0)} → ${(peak / MB).toFixed(0)} MB`);
    return { growth, conns };
  }

  it('60 unauthenticated half-sent 5 MB bodies are refused from their headers (401, closed) and not held', async () => {
    const { growth, conns } = await halfSentBodies(undefined);
    for (const c of conns) c.socket.destroy();
    expect(growth).toBeLessThan(60 * MB);
    for (const c of conns) {
      expect(c.received()).toMatch(/^HTTP\/1\.1 401 /);
      expect(c.received()).toMatch(/content-type: application\/problem\+json/i);
    }
  });

  it('60 authorized half-sent 5 MB bodies: the server reads a bounded number, the rest get 503 with Retry-After', async () => {
    const { growth, conns } = await halfSentBodies(`Bearer ${ADMIN}`);
    const busy = conns.filter((c) => /^HTTP\/1\.1 503 /.test(c.received()));
    for (const c of conns) c.socket.destroy();
    expect(growth).toBeLessThan(100 * MB);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy[0]!.received()).toMatch(/retry-after: \d+/i);
    expect(busy[0]!.received()).toMatch(/content-type: application\/problem\+json/i);
  });

  it('a slowloris is cut: trickled headers within the header timeout, a stalled body with a 408 problem', async () => {
    const [headers, stalled] = await Promise.all([open(port), open(port)]);
    // headers one byte a second, never finished
    const line = head('/v1/streams/edge/data', { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'x-pad': 'y'.repeat(200) });
    let i = 0;
    const trickle = setInterval(() => headers.socket.writable && headers.socket.write(line[i++ % line.length]!), 1_000);
    // a body that stops after its first bytes
    stalled.socket.write(head('/v1/streams/edge/data', { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'content-length': 1000 }));
    stalled.socket.write('[{"v":1}');
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 25_000));
    const [headersCut, bodyCut] = await Promise.all([Promise.race([headers.closed, timeout]), Promise.race([stalled.closed, timeout])]);
    clearInterval(trickle);
    headers.socket.destroy();
    stalled.socket.destroy();
    expect(headersCut).toBeLessThan(25_000);
    expect(bodyCut).toBeLessThan(25_000);
    expect(headers.received()).toMatch(/^HTTP\/1\.1 408 [\s\S]*application\/problem\+json/i);
    expect(stalled.received()).toMatch(/^HTTP\/1\.1 408 [\s\S]*application\/problem\+json/i);
  }, 40_000);

  it('a 100 KB Authorization header gets a 431 problem+json, and the server serves on', async () => {
    const r = await fetch(`${rt.base}/v1/streams`, { headers: { authorization: `Bearer ${'a'.repeat(100 * 1024)}` } }).catch((err: Error) => {
      throw new Error(`fetch failed: ${String((err.cause as Error)?.message)}`);
    });
    expect(r.status).toBe(431);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(await r.json()).toMatchObject({ status: 431, title: expect.any(String), detail: expect.stringMatching(/header/) });
    const ok = await fetch(`${rt.base}/v1/streams/edge`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ok.status).toBe(200);
  });

  it('a refused body still gets its answer over fetch: 401 without reading a 4 MB body, then the next request works', async () => {
    const r = await fetch(`${rt.base}/v1/streams/edge/data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-0123456789' },
      body: `[${'{"v":1},'.repeat(500_000)}{"v":1}]`,
    });
    expect(r.status).toBe(401);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    const ok = await fetch(`${rt.base}/v1/streams/edge/data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: '{"v":2}',
    });
    expect(ok.status).toBe(202);
  });
});
