import { parse } from 'csv-parse/sync';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { TributaryClient } from '../../packages/client/src/index';
import { ADMIN, startLocal, type Local } from './harness';

/**
 * `GET /v1/streams/{id}/export` on the local runtime: a range of more than one store page (12 500 points,
 * pages of 10 000) comes back whole, in CSV, NDJSON and Parquet, with the same rows the query API pages out;
 * text a spreadsheet would run as a formula is escaped; past the inline limit (made 64 KiB here) the answer
 * is a 303 to a presigned URL of the local S3, whose file holds the same rows.
 */

const local = startedForSuite(() => startLocal({ exportInlineBytes: 64 * 1024 }));

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const COUNT = 12_500;
const FORMULAS = ['=HYPERLINK("http://evil.example","x")', '+1+2', '-2+3', '@SUM(A1:A2)', '\tcmd', '\rcmd', 'plain'];

let stream: { id: string; ingestToken: string } | undefined;

async function seeded(l: Local): Promise<{ id: string; ingestToken: string }> {
  if (stream) return stream;
  const s = await l.createStream({
    name: `Export ${Math.random()}`,
    type: 'iot_sensor',
    schema: { temperature: { type: 'number', unit: 'celsius' }, note: { type: 'string' }, deviceId: { type: 'string' } },
    dimensions: ['deviceId'],
  });
  const records = Array.from({ length: COUNT }, (_, i) => ({
    timestamp: new Date(T0 + Math.floor(i / 2) * 1000).toISOString(),
    deviceId: i % 2 === 0 ? 'f-1' : 'f-2',
    temperature: -20 + (i % 40) / 4,
    note: FORMULAS[i % FORMULAS.length],
  }));
  for (let i = 0; i < records.length; i += 2_500) {
    const r = await l.api(`/v1/streams/${s.id}/data`, { token: s.ingestToken, body: records.slice(i, i + 2_500) });
    expect(r.status).toBe(202);
  }
  const range = `start=${new Date(T0).toISOString()}&end=${new Date(T0 + 86_400_000).toISOString()}`;
  await l.waitForPoints(s.id, `${range}&granularity=1d`, (p) => p.length === 1 && p[0].values.temperature.count === COUNT, 60_000);
  stream = s;
  return s;
}

const RANGE = `start=${new Date(T0).toISOString()}&end=${new Date(T0 + 86_400_000).toISOString()}`;

/** Every point of the range as the query API pages it out (10 000 a page, following nextCursor). */
async function queried(id: string, range = RANGE): Promise<any[]> {
  const points: any[] = [];
  let cursor: string | undefined;
  do {
    const r = await local.api(`/v1/streams/${id}/data?${range}&limit=10000${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status).toBe(200);
    points.push(...r.body.points);
    cursor = r.body.nextCursor;
  } while (cursor);
  return points;
}

/** The export's file: the answer itself (200), or the file its 303 points to, fetched without the token. */
async function exported(id: string, query: string): Promise<{ status: number; bytes: Buffer; headers: Headers; body?: any }> {
  const res = await fetch(`${local.base}/v1/streams/${id}/export?${query}`, { headers: { authorization: `Bearer ${ADMIN}` }, redirect: 'manual' });
  if (res.status !== 303) return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
  const body: any = await res.json();
  expect(res.headers.get('location')).toBe(body.url);
  const file = await fetch(body.url);
  expect(file.status).toBe(200);
  return { status: 303, bytes: Buffer.from(await file.arrayBuffer()), headers: file.headers, body };
}

const escaped = (note: string) => (/^[=+\-@\t\r]/.test(note) ? `'${note}` : note);

describe('GET /v1/streams/{id}/export', () => {
  it('writes the whole range as CSV, past one page and past the inline limit, with the query API’s rows and formulas escaped', async () => {
    const { id } = await seeded(local);
    const points = await queried(id);
    expect(points).toHaveLength(COUNT);
    const out = await exported(id, `format=csv&${RANGE}`);
    expect(out.status).toBe(303);
    expect(out.body).toMatchObject({ streamId: id, format: 'csv', filename: `${id}_2026-12-01T00-00-00.000Z_2026-12-02T00-00-00.000Z.csv` });
    expect(out.headers.get('content-disposition')).toBe(`attachment; filename="${out.body.filename}"`);
    const rows: string[][] = parse(out.bytes.toString('utf8'), { relax_column_count: false });
    expect(rows[0]).toEqual(['time', 'deviceId', 'temperature', 'note']);
    const expected = points.map((p) => [p.time, p.dimensions.deviceId, String(p.values.temperature), escaped(p.values.note)]);
    expect(rows.slice(1)).toEqual(expected);
    // what a spreadsheet would have run: no text cell starts with a formula character
    expect(rows.slice(1).filter((r) => /^[=+\-@\t\r]/.test(r[3]!))).toEqual([]);
    expect(rows.slice(1).some((r) => r[2]!.startsWith('-'))).toBe(true); // negative numbers stay numbers
  });

  it('answers a small range inline, with its filename', async () => {
    const { id } = await seeded(local);
    const range = `start=${new Date(T0).toISOString()}&end=${new Date(T0 + 10_000).toISOString()}`;
    const out = await exported(id, `${range}`);
    expect(out.status).toBe(200);
    expect(out.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(out.headers.get('content-disposition')).toBe(`attachment; filename="${id}_2026-12-01T00-00-00.000Z_2026-12-01T00-00-10.000Z.csv"`);
    const rows: string[][] = parse(out.bytes.toString('utf8'));
    expect(rows.slice(1).map((r) => r[0])).toEqual((await queried(id, range)).map((p) => p.time));
    expect(rows).toHaveLength(21);
  });

  it('writes NDJSON whose lines are the query API’s points', async () => {
    const { id } = await seeded(local);
    const out = await exported(id, `format=ndjson&${RANGE}`);
    const lines = out.bytes.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual(await queried(id));
  });

  it('writes Parquet with a row group per page, read back with hyparquet as the query API’s rows', async () => {
    const { id } = await seeded(local);
    const out = await exported(id, `format=parquet&${RANGE}`);
    const file = out.bytes.buffer.slice(out.bytes.byteOffset, out.bytes.byteOffset + out.bytes.byteLength) as ArrayBuffer;
    const meta = parquetMetadata(file);
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([10_000, COUNT - 10_000]);
    const rows = await parquetReadObjects({ file });
    const points = await queried(id);
    expect(rows.map((r: any) => ({ time: new Date(r.time).toISOString(), dimensions: { deviceId: r.deviceId }, values: { note: r.note, temperature: r.temperature } }))).toEqual(points);
  });

  it('exports bins as the query API downsamples them, in CSV and in Parquet', async () => {
    const { id } = await seeded(local);
    const bins = `${RANGE}&granularity=1h&downsamplers=mean,max,count&fields=temperature`;
    const points = (await local.api(`/v1/streams/${id}/data?${bins}`)).body.points;
    expect(points.length).toBeGreaterThan(1);
    const csv: string[][] = parse((await exported(id, `format=csv&${bins}`)).bytes.toString('utf8'));
    expect(csv[0]).toEqual(['time', 'temperature.mean', 'temperature.max', 'temperature.count']);
    expect(csv.slice(1)).toEqual(points.map((p: any) => [p.time, String(p.values.temperature.mean), String(p.values.temperature.max), String(p.values.temperature.count)]));
    const out = await exported(id, `format=parquet&${bins}`);
    const rows = await parquetReadObjects({ file: out.bytes.buffer.slice(out.bytes.byteOffset, out.bytes.byteOffset + out.bytes.byteLength) as ArrayBuffer });
    expect(rows.map((r: any) => [new Date(r.time).toISOString(), r['temperature.mean'], r['temperature.max'], r['temperature.count']])).toEqual(
      points.map((p: any) => [p.time, p.values.temperature.mean, p.values.temperature.max, p.values.temperature.count]),
    );
  });

  it('is the SDK’s streams.export, which follows the 303 to the file without the token', async () => {
    const { id } = await seeded(local);
    const client = new TributaryClient({ baseUrl: local.base, token: ADMIN });
    const file = await client.streams.export(id, { format: 'ndjson', start: new Date(T0), end: new Date(T0 + 86_400_000) });
    expect(file.filename).toBe(`${id}_2026-12-01T00-00-00.000Z_2026-12-02T00-00-00.000Z.ndjson`);
    expect(new TextDecoder().decode(file.bytes).trimEnd().split('\n')).toHaveLength(COUNT);
  });

  it('refuses bad parameters with problem+json naming each', async () => {
    const { id } = await seeded(local);
    const r = await local.api(`/v1/streams/${id}/export?format=xlsx&limit=5&start=yesterday`);
    expect(r.status).toBe(400);
    expect(r.type).toBe('application/problem+json');
    expect(r.body.errors.map((e: any) => e.path[0]).sort()).toEqual(['format', 'limit', 'start']);
    expect((await local.api(`/v1/streams/${id}/export?fields=nope`)).body.errors[0].path).toEqual(['fields']);
    expect((await local.api(`/v1/streams/${id}/export`, { token: null })).status).toBe(401);
    expect((await local.api(`/v1/streams/nope/export`)).status).toBe(404);
  });
});
