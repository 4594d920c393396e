import { request } from 'node:http';
import { deflateRawSync, deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rssBytes, startRuntimeProcess, type RuntimeProcess } from '../fixtures/runtime-process';

const ADMIN = 'trb_formats-text-admin-token-0123456789';
const RANGE = 'start=2026-12-01T00:00:00Z&end=2026-12-02T00:00:00Z';
const SCHEMA = {
  deviceId: { type: 'string', required: true },
  temperature: { type: 'number', range: { min: -50, max: 50 } },
  open: { type: 'boolean' },
  note: { type: 'string' },
  serviced: { type: 'datetime' },
};

// what each format sends: the same four readings, so each stream must answer the same points
const READINGS = [
  { timestamp: '2026-12-01T10:00:00.000Z', deviceId: 'f-1', temperature: -18.5, open: false, note: 'cold, very "cold"' },
  { timestamp: '2026-12-01T10:01:00.000Z', deviceId: 'f-2', temperature: -19, open: true, serviced: '2026-11-30T08:00:00.000Z' },
  { timestamp: '2026-12-01T10:02:00.000Z', deviceId: 'f-1', temperature: 4.25, note: "=cmd|' /C calc'!A0" },
  { timestamp: '2026-12-01T10:03:00.000Z', deviceId: 'f-3', temperature: 0, note: 'two\nlines' },
];
const CSV =
  '\ufefftimestamp,deviceId,temperature,open,note,serviced\r\n' +
  '2026-12-01T10:00:00.000Z,f-1,-18.5,false,"cold, very ""cold""",\r\n' +
  '2026-12-01T10:01:00.000Z,f-2,-19,TRUE,,2026-11-30T08:00:00.000Z\r\n' +
  `2026-12-01T10:02:00.000Z,f-1,4.25,,"=cmd|' /C calc'!A0",\r\n` +
  '2026-12-01T10:03:00.000Z,f-3,0,,"two\nlines",\r\n';
const NDJSON = `${READINGS.map((r) => JSON.stringify(r)).join('\r\n')}\r\n\r\n`;

const EXPECTED_POINTS = READINGS.map(({ timestamp, deviceId, ...values }) => ({ time: timestamp, dimensions: { deviceId }, values }));

describe('gzip/deflate, NDJSON and CSV bodies, and CSV/NDJSON/gzip answers, through real HTTP on the local runtime', () => {
  let rt: RuntimeProcess;
  const tokens: Record<string, string> = {};

  const post = (stream: string, body: string | Buffer, headers: Record<string, string>) =>
    fetch(`${rt.base}/v1/streams/${stream}/data`, { method: 'POST', headers: { authorization: `Bearer ${tokens[stream]}`, ...headers }, body });

  const admin = (path: string, body?: unknown) =>
    fetch(`${rt.base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  async function pointsOf(stream: string, count: number): Promise<unknown[]> {
    const until = Date.now() + 15_000;
    for (;;) {
      const { points } = (await (await admin(`/v1/streams/${stream}/data?granularity=raw&${RANGE}&limit=1000`)).json()) as { points: unknown[] };
      if (points.length >= count) return points;
      if (Date.now() > until) throw new Error(`${stream}: ${points.length} of ${count} points stored within 15 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function problem(res: Response, status: number) {
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as { status: number; detail: string; errors?: unknown[] };
    expect({ status: res.status, body: body.status }).toEqual({ status, body: status });
    return body;
  }

  beforeAll(async () => {
    rt = await startRuntimeProcess({ TRIBUTARY_ADMIN_TOKEN: ADMIN, TRIBUTARY_QUIET: '1' });
    for (const id of ['gz-json', 'deflate-ndjson', 'csv', 'refusals']) {
      const res = await admin('/v1/streams', { id, name: id, type: 'iot_sensor', schema: SCHEMA, dimensions: ['deviceId'] });
      tokens[id] = ((await res.json()) as { ingestToken: string }).ingestToken;
    }
  });
  afterAll(() => rt?.close());

  it('stores a gzipped JSON body, a deflate NDJSON body and a CSV file exactly as sent', async () => {
    expect(await (await post('gz-json', gzipSync(JSON.stringify(READINGS)), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).json()).toEqual({ accepted: 4 });
    const half = NDJSON.indexOf('\r\n', NDJSON.length / 2);
    // zlib-wrapped deflate (RFC 9110's) and raw deflate (what many clients send) are both taken
    expect((await post('deflate-ndjson', deflateSync(NDJSON.slice(0, half)), { 'content-type': 'application/x-ndjson', 'content-encoding': 'deflate' })).status).toBe(202);
    expect((await post('deflate-ndjson', deflateRawSync(NDJSON.slice(half)), { 'content-type': 'application/x-ndjson', 'content-encoding': 'deflate' })).status).toBe(202);
    expect(await (await post('csv', CSV, { 'content-type': 'text/csv' })).json()).toEqual({ accepted: 4 });
    for (const stream of ['gz-json', 'deflate-ndjson', 'csv']) expect(await pointsOf(stream, 4), stream).toEqual(EXPECTED_POINTS);
  });

  it('answers a query as CSV and as NDJSON, paged by the same cursor in a header', async () => {
    await pointsOf('csv', 4);
    const url = `${rt.base}/v1/streams/csv/data?granularity=raw&${RANGE}`;
    const csv = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}`, accept: 'text/csv' } });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await csv.text()).toBe(
      'time,deviceId,temperature,open,note,serviced\r\n' +
        '2026-12-01T10:00:00.000Z,f-1,-18.5,false,"cold, very ""cold""",\r\n' +
        '2026-12-01T10:01:00.000Z,f-2,-19,true,,2026-11-30T08:00:00.000Z\r\n' +
        `2026-12-01T10:02:00.000Z,f-1,4.25,,=cmd|' /C calc'!A0,\r\n` +
        '2026-12-01T10:03:00.000Z,f-3,0,,"two\nlines",\r\n',
    );
    const page1 = await fetch(`${url}&limit=3`, { headers: { authorization: `Bearer ${ADMIN}`, accept: 'application/x-ndjson' } });
    expect(page1.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const cursor = page1.headers.get('next-cursor');
    expect(cursor).toBeTruthy();
    const page2 = await fetch(`${url}&limit=3&cursor=${encodeURIComponent(cursor!)}`, { headers: { authorization: `Bearer ${ADMIN}`, accept: 'application/x-ndjson' } });
    expect(page2.headers.get('next-cursor')).toBeNull();
    const lines = `${await page1.text()}${await page2.text()}`.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(EXPECTED_POINTS);
  });

  it('gzips an answer for Accept-Encoding: gzip, sent as bytes with Vary', async () => {
    await pointsOf('gz-json', 4);
    const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = request(`${rt.base}/v1/streams/gz-json/data?granularity=raw&${RANGE}`, { headers: { authorization: `Bearer ${ADMIN}`, 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(raw.headers.vary).toMatch(/accept-encoding/);
    expect([raw.body[0], raw.body[1]]).toEqual([0x1f, 0x8b]);
    expect(JSON.parse(gunzipSync(raw.body).toString()).points).toEqual(EXPECTED_POINTS);
    // fetch asks for gzip itself and inflates the answer
    const viaFetch = await fetch(`${rt.base}/v1/streams/gz-json/data?granularity=raw&${RANGE}`, { headers: { authorization: `Bearer ${ADMIN}`, accept: 'text/csv' } });
    expect(viaFetch.headers.get('content-encoding')).toBe('gzip');
    expect((await viaFetch.text()).split('\r\n')).toHaveLength(6);
  });

  it('creates a stream from a gzipped JSON definition (the streams routes undo Content-Encoding too)', async () => {
    const res = await fetch(`${rt.base}/v1/streams`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ id: 'gz-defined', name: 'gz', type: 'iot_sensor', schema: SCHEMA, dimensions: ['deviceId'] })),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { schema: unknown }).schema).toMatchObject(SCHEMA);
  });

  it('refuses a gzip bomb with a 413 after at most the limit of inflating, the runtime staying small', async () => {
    // 1 GiB of zeros as 64 gzip members of 16 MiB (~1 MB sent), and a 16 GiB bomb gzipped once more (~48 KB sent)
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    const nested = gzipSync(Buffer.concat(Array.from({ length: 1024 }, () => member)), { level: 9 });
    const before = await rssBytes(rt.pid!);
    for (let i = 0; i < 5; i++) {
      const body = await problem(await post('refusals', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 413);
      expect(body.detail).toMatch(/inflates to more than 5242880 bytes/);
      await problem(await post('refusals', nested, { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip, gzip' }), 413);
    }
    const grown = (await rssBytes(rt.pid!)) - before;
    expect(grown).toBeLessThan(96 * 1024 * 1024);
  });

  it('refuses a truncated gzip (400), an unknown Content-Encoding or Content-Type (415) and bad CSV (400 naming rows and columns), storing nothing', async () => {
    const gz = gzipSync(JSON.stringify(READINGS));
    const truncated = await problem(await post('refusals', gz.subarray(0, gz.length - 10), { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 400);
    expect(truncated.detail).toMatch(/not a valid gzip stream \(unexpected end of file\)/);
    // a body that says gzip but is not
    await problem(await post('refusals', JSON.stringify(READINGS), { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 400);
    expect((await problem(await post('refusals', gz, { 'content-type': 'application/json', 'content-encoding': 'compress' }), 415)).detail).toMatch(/gzip, deflate, br/);
    expect((await problem(await post('refusals', 'a,b', { 'content-type': 'application/vnd.ms-excel' }), 415)).detail).toMatch(/application\/json, application\/x-ndjson, application\/ndjson, text\/csv/);

    const ragged = await problem(await post('refusals', 'deviceId,temperature\nf-1,1\nf-2\n', { 'content-type': 'text/csv' }), 400);
    expect(ragged.errors).toEqual([{ index: 1, path: [], message: 'row 2 (line 3) has 1 cells; the header names 2 columns' }]);
    const unknown = await problem(await post('refusals', 'deviceId,humidity\nf-1,40\n', { 'content-type': 'text/csv' }), 400);
    expect(unknown.errors).toEqual([{ path: ['header', 'humidity'], message: "unknown column 'humidity'; the stream's schema does not declare it" }]);
    const typed = await problem(await post('refusals', 'deviceId,temperature\nf-1,1\nf-2,=1+2\n', { 'content-type': 'text/csv' }), 400);
    expect(typed.errors).toEqual([{ index: 1, path: ['temperature'], message: expect.stringMatching(/number/) }]);
    const ndjson = await problem(await post('refusals', '{"deviceId":"a"}\n\n{"deviceId":"b","temperature":99}\n', { 'content-type': 'application/x-ndjson' }), 400);
    expect(ndjson.errors).toEqual([{ index: 2, path: ['temperature'], message: expect.stringMatching(/50/) }]);

    // a sentinel behind the refusals: once it is stored, nothing refused was
    expect((await post('refusals', '{"deviceId":"sentinel","timestamp":"2026-12-01T12:00:00Z"}', { 'content-type': 'application/x-ndjson' })).status).toBe(202);
    expect(await pointsOf('refusals', 1)).toEqual([{ time: '2026-12-01T12:00:00.000Z', dimensions: { deviceId: 'sentinel' }, values: {} }]);
  });
});
