import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptsGzip, answerType, encodedAnswer, toCsv, toNdjson } from '../../functions/query/answer-format';

describe('answerType', () => {
  it('picks the highest-q type we write, in the order given on a tie', () => {
    expect(answerType('text/csv;q=0.9, application/x-ndjson')).toBe('application/x-ndjson');
    expect(answerType('text/csv, application/json')).toBe('text/csv');
    expect(answerType('application/ndjson')).toBe('application/x-ndjson');
  });
  it('answers JSON without Accept, for */* and for types it does not write', () => {
    expect(answerType(undefined)).toBe('application/json');
    expect(answerType('*/*')).toBe('application/json');
    expect(answerType('application/xml, text/csv;q=0')).toBe('application/json');
  });
});

describe('acceptsGzip', () => {
  it('takes gzip, x-gzip and * unless q=0', () => {
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('br;q=1, *;q=0.1')).toBe(true);
    expect(acceptsGzip('gzip;q=0, br')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});

describe('toCsv and toNdjson', () => {
  it('writes raw points with one column per field, quoting per RFC 4180, and values as stored', () => {
    const q = { granularity: 'raw' as const, keyDimensions: ['deviceId'], fields: ['temperature', 'note', 'meta'], downsamplers: [] };
    const points = [
      { time: '2026-12-01T10:00:00.000Z', dimensions: { deviceId: 'f,1' }, values: { temperature: -1.5, note: ' padded "x"', meta: { a: [1] } } },
      { time: '2026-12-01T10:01:00.000Z', dimensions: { deviceId: 'f2' }, values: { note: '=HYPERLINK("x")' } },
    ];
    expect(toCsv(q, points)).toBe(
      'time,deviceId,temperature,note,meta\r\n2026-12-01T10:00:00.000Z,"f,1",-1.5," padded ""x""","{""a"":[1]}"\r\n2026-12-01T10:01:00.000Z,f2,,"=HYPERLINK(""x"")",\r\n',
    );
    expect(toNdjson(points).split('\n').slice(0, -1).map((l) => JSON.parse(l))).toEqual(points);
  });
  it('writes downsampled points with a column per field and downsampler, the same columns on every page', () => {
    const q = { granularity: '1h' as never, keyDimensions: [], fields: ['temperature'], downsamplers: ['mean', 'max'] as never[] };
    expect(toCsv(q, [{ time: '2026-12-01T10:00:00.000Z', values: { temperature: { mean: 1, max: null } } }])).toBe('time,temperature.mean,temperature.max\r\n2026-12-01T10:00:00.000Z,1,\r\n');
    expect(toCsv(q, [])).toBe('time,temperature.mean,temperature.max\r\n');
  });
  it('writes a session window’s end and count after its time, and a trend as its slope and r² columns', () => {
    const q = { granularity: 'session:10m' as const, window: { kind: 'session' as const, gapMs: 600_000 }, keyDimensions: ['deviceId'], fields: ['temperature'], downsamplers: ['trend', 'p95'] as never[] };
    const points = [
      { time: '2026-12-01T10:00:00.000Z', end: '2026-12-01T10:04:00.000Z', count: 5, dimensions: { deviceId: 'f1' }, values: { temperature: { trend: { slope: 2, r2: 1 }, p95: 9 } } },
      { time: '2026-12-01T11:00:00.000Z', end: '2026-12-01T11:00:00.000Z', count: 1, dimensions: { deviceId: 'f1' }, values: { temperature: { trend: null, p95: 3 } } },
    ];
    expect(toCsv(q, points)).toBe(
      'time,end,count,deviceId,temperature.trend.slope,temperature.trend.r2,temperature.p95\r\n' +
        '2026-12-01T10:00:00.000Z,2026-12-01T10:04:00.000Z,5,f1,2,1,9\r\n2026-12-01T11:00:00.000Z,2026-12-01T11:00:00.000Z,1,f1,,,3\r\n',
    );
  });
});

describe('encodedAnswer', () => {
  it('gzips and base64-encodes the body when asked, with Content-Encoding and Vary', async () => {
    const res = await encodedAnswer(true, 'text/csv', 'time\r\n', { 'next-cursor': 'c' });
    expect(res.headers).toEqual({ 'content-type': 'text/csv; charset=utf-8', vary: 'accept, accept-encoding', 'next-cursor': 'c', 'content-encoding': 'gzip' });
    expect(res.isBase64Encoded).toBe(true);
    expect(gunzipSync(Buffer.from(res.body!, 'base64')).toString()).toBe('time\r\n');
    expect(await encodedAnswer(false, 'application/json', '{}')).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json', vary: 'accept, accept-encoding' }, body: '{}' });
  });
});
