import { gzipSync, deflateRawSync, deflateSync, brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../functions/commons/body';
import { contentCodings, decodeContent } from '../../functions/commons/formats/content-encoding';
import { decodeCsv } from '../../functions/commons/formats/csv';
import { atPositions, decodePayload, decodeRecords, mediaTypeOf, recordsDecoder } from '../../functions/commons/formats/decode-records';
import { textBody, type DecodeContext } from '../../functions/commons/formats/decoder';
import { decodeNdjson } from '../../functions/commons/formats/ndjson';
import type { HttpEvent } from '../../functions/commons/http';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError, type Issue } from '../../shared/domain/errors';
import { newStream, parseStreamInput, type Stream } from '../../shared/domain/stream-definition';

const stream: Stream = newStream(
  parseStreamInput({
    name: 'freezers',
    type: 'iot_sensor',
    dimensions: ['deviceId'],
    schema: {
      deviceId: { type: 'string', required: true },
      temperature: { type: 'number' },
      count: { type: 'integer' },
      open: { type: 'boolean' },
      serviced: { type: 'datetime' },
      note: { type: 'string' },
      meta: { type: 'object' },
    },
  }),
  new Date('2026-12-01T00:00:00Z'),
  () => 'x',
);

const ctx: DecodeContext = { limits: DEFAULT_LIMITS, stream: async () => stream, what: 'The body', params: {} };
const opts = { limits: DEFAULT_LIMITS, stream: async () => stream };

function event(body: string | Buffer, headers: Record<string, string>): HttpEvent {
  const base64 = Buffer.isBuffer(body);
  return { headers, body: base64 ? body.toString('base64') : body, isBase64Encoded: base64 } as unknown as HttpEvent;
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<Error & { issues?: Issue[] }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err as Error & { issues?: Issue[] };
  }
  throw new Error('expected a rejection');
}

/** `n` zero bytes gzipped as many gzip members of 16 MiB each, which gunzip reads as one body: built in milliseconds. */
function zeroBomb(n: number): Buffer {
  const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: Math.ceil(n / (16 * 1024 * 1024)) }, () => member));
}

describe('recordsDecoder', () => {
  it('refuses an unknown content type with a 415 listing every supported one', async () => {
    const err = await rejection(() => recordsDecoder('application/xml'));
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    for (const t of ['application/json', 'application/x-ndjson', 'text/csv']) expect(err.message).toContain(t);
    expect(err.message).toContain('not application/xml');
    expect((await rejection(() => recordsDecoder(undefined))).message).toMatch(/no content type was given/);
  });
  it('takes parameters and any +json type', () => {
    expect(mediaTypeOf('Text/CSV; charset="utf-8"; header=present')).toEqual({ type: 'text/csv', params: { charset: 'utf-8', header: 'present' } });
    expect(() => recordsDecoder('application/merge-patch+json')).not.toThrow();
  });
});

describe('contentCodings and decodeContent', () => {
  const json = Buffer.from('[{"deviceId":"f-1","temperature":-18.5}]');
  it('undoes gzip, zlib-wrapped deflate, raw deflate and br to the same bytes', async () => {
    for (const [coding, bytes] of [
      ['gzip', gzipSync(json)],
      ['x-gzip', gzipSync(json)],
      ['deflate', deflateSync(json)],
      ['deflate', deflateRawSync(json)],
      ['br', brotliCompressSync(json)],
    ] as const) {
      expect((await decodeContent(bytes, contentCodings(coding), 1024)).equals(json), coding).toBe(true);
    }
    expect(await decodeContent(gzipSync(gzipSync(json)), contentCodings('gzip, gzip'), 1024)).toEqual(json);
    expect(contentCodings('identity')).toEqual([]);
  });
  it('refuses an unknown coding with a 415 naming the supported ones', async () => {
    const err = await rejection(() => contentCodings('compress'));
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(err.message).toMatch(/'compress' is not supported.*gzip, deflate, br/);
    expect(await rejection(() => contentCodings('gzip, gzip, gzip'))).toBeInstanceOf(UnsupportedMediaTypeError);
  });
  it('refuses a truncated gzip and bytes that are not gzip at all with a 400 naming the header', async () => {
    const gz = gzipSync(json);
    for (const bytes of [gz.subarray(0, gz.length - 6), gz.subarray(0, 12), json]) {
      const err = await rejection(decodeContent(bytes, ['gzip'], 1024));
      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.issues?.[0]?.path).toEqual(['headers', 'content-encoding']);
    }
    expect((await rejection(decodeContent(gz.subarray(0, gz.length - 6), ['gzip'], 1024))).message).toMatch(/not a valid gzip stream \(unexpected end of file\)/);
  });
  it('stops a 1 GiB gzip bomb at the limit: a 413 after at most the limit of output, memory bounded', async () => {
    const bomb = zeroBomb(1024 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(1024 * 1024 + 64 * 1024);
    const before = process.memoryUsage().rss;
    const err = await rejection(decodeContent(bomb, ['gzip'], DEFAULT_LIMITS.maxBytes));
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err.message).toMatch(/inflates to more than 5242880 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
  it('stops a nested bomb (gzip of a 16 GiB gzip bomb, 47 KB sent) at the first layer', async () => {
    const nested = gzipSync(zeroBomb(16 * 1024 * 1024 * 1024), { level: 9 });
    expect(nested.length).toBeLessThan(64 * 1024);
    expect(await rejection(decodeContent(nested, ['gzip', 'gzip'], DEFAULT_LIMITS.maxBytes))).toBeInstanceOf(PayloadTooLargeError);
  });
});

describe('decodeRecords', () => {
  it('hands an uncompressed JSON text body to the JSON decoder as it is (the fast path: json is the body)', async () => {
    const body = '[{"deviceId":"f-1","temperature":1}]';
    const decoded = await decodeRecords(event(body, { 'content-type': 'application/json' }), opts);
    expect(decoded.json).toBe(body);
    expect(decoded.records).toEqual([{ deviceId: 'f-1', temperature: 1 }]);
  });
  it('decodes a base64 body, gzipped, of each format to the same records', async () => {
    const records = [{ deviceId: 'f-1', temperature: 1.5 }, { deviceId: 'f-2', temperature: -2 }];
    const bodies: Record<string, string> = {
      'application/json': JSON.stringify(records),
      'application/x-ndjson': records.map((r) => JSON.stringify(r)).join('\n'),
      'text/csv': 'deviceId,temperature\nf-1,1.5\nf-2,-2\n',
    };
    for (const [type, text] of Object.entries(bodies)) {
      expect((await decodeRecords(event(gzipSync(text), { 'content-type': type, 'content-encoding': 'gzip' }), opts)).records, type).toEqual(records);
      expect((await decodeRecords(event(Buffer.from(text), { 'content-type': type }), opts)).records, type).toEqual(records);
    }
  });
  it('refuses an inflated body that is not UTF-8 with the byte offset', async () => {
    const err = await rejection(decodeRecords(event(gzipSync(Buffer.from([0x5b, 0xff, 0x5d])), { 'content-type': 'application/json', 'content-encoding': 'gzip' }), opts));
    expect(err.message).toMatch(/byte offset 1/);
  });
  it('decodes MQTT payloads by the same decoders', async () => {
    expect((await decodePayload(Buffer.from('{"deviceId":"a"}\n{"deviceId":"b"}'), 'application/x-ndjson', [], opts)).records).toEqual([{ deviceId: 'a' }, { deviceId: 'b' }]);
  });
});

describe('decodeNdjson', () => {
  it('reads one record per line, CRLF and blank lines included, and keeps each record at its line', async () => {
    const decoded = await decodeNdjson(textBody('\ufeff{"deviceId":"a"}\r\n\r\n  \n{"deviceId":"b"}\n'), ctx);
    expect(decoded.records).toEqual([{ deviceId: 'a' }, { deviceId: 'b' }]);
    expect(JSON.parse(decoded.json!)).toEqual(decoded.records);
    expect(decoded.positions).toEqual([0, 3]);
    expect(atPositions([{ index: 1, path: ['x'], message: 'm' }], decoded.positions)).toEqual([{ index: 3, path: ['x'], message: 'm' }]);
  });
  it('names the line that is not JSON as the issue index', async () => {
    const err = await rejection(async () => decodeNdjson(textBody('{"deviceId":"a"}\n\n{"deviceId":'), ctx));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toMatch(/^Line 3 of the NDJSON is not valid JSON/);
    expect(err.issues).toEqual([{ index: 2, path: [], message: expect.stringMatching(/^line 3: not valid JSON/) }]);
  });
  it('refuses an empty body, a line nested too deep, and more records than the per-request maximum', async () => {
    expect(await rejection(async () => decodeNdjson(textBody('\n \n'), ctx))).toBeInstanceOf(BadRequestError);
    expect((await rejection(async () => decodeNdjson(textBody(`{}\n${'['.repeat(40)}`), ctx))).issues?.[0]?.index).toBe(1);
    const many = await rejection(async () => decodeNdjson(textBody('{}\n{}\n{}'), { ...ctx, limits: { ...DEFAULT_LIMITS, maxRecords: 2 } }));
    expect(many).toBeInstanceOf(PayloadTooLargeError);
  });
});

describe('decodeCsv', () => {
  const csv = async (text: string) => decodeCsv(textBody(text), ctx);
  it('types cells from the schema; an empty cell is an absent field', async () => {
    const { records } = await csv(
      'deviceId,temperature,count,open,serviced,note,meta,timestamp\r\nf-1,-18.5,3,TRUE,2026-12-01T10:00:00Z,"cold, very","{""a"":1}",1764583200000\r\nf-2,,,false,,,,2026-12-01T10:00:00.000Z\r\n',
    );
    expect(records).toEqual([
      { deviceId: 'f-1', temperature: -18.5, count: 3, open: true, serviced: '2026-12-01T10:00:00Z', note: 'cold, very', meta: { a: 1 }, timestamp: 1764583200000 },
      { deviceId: 'f-2', open: false, timestamp: '2026-12-01T10:00:00.000Z' },
    ]);
  });
  it('reads quoted fields with quotes and line breaks, and a byte order mark', async () => {
    const { records } = await csv('\ufeffdeviceId,note\n"f ""1""","two\nlines"\n');
    expect(records).toEqual([{ deviceId: 'f "1"', note: 'two\nlines' }]);
  });
  it('keeps a formula-looking cell as the text it is, never evaluated', async () => {
    const { records } = await csv(`deviceId,note\nf-1,"=cmd|' /C calc'!A0"\nf-2,=1+2\n`);
    expect(records).toEqual([{ deviceId: 'f-1', note: "=cmd|' /C calc'!A0" }, { deviceId: 'f-2', note: '=1+2' }]);
  });
  it('passes a cell that is not its type on as text, for the validator to name', async () => {
    expect((await csv('deviceId,temperature,open\nf-1,warm,maybe\n')).records).toEqual([{ deviceId: 'f-1', temperature: 'warm', open: 'maybe' }]);
  });
  it('refuses ragged rows with a 400 naming each row and its line', async () => {
    const err = await rejection(csv('deviceId,temperature\nf-1,1\nf-2\nf-3,3,extra\n'));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.issues).toEqual([
      { index: 1, path: [], message: 'row 2 (line 3) has 1 cells; the header names 2 columns' },
      { index: 2, path: [], message: 'row 3 (line 4) has 3 cells; the header names 2 columns' },
    ]);
  });
  it('refuses unknown, unnamed and repeated columns with a 400 naming them', async () => {
    const err = await rejection(csv('deviceId,humidity,,deviceId\nf-1,1,2,3\n'));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.issues).toEqual([
      { path: ['header', 'humidity'], message: "unknown column 'humidity'; the stream's schema does not declare it" },
      { path: ['header', 2], message: 'column 3 of the header row has no name' },
      { path: ['header', 'deviceId'], message: "column 'deviceId' is named twice" },
    ]);
  });
  it('refuses an unclosed quote, a header without rows and an empty body with a 400', async () => {
    expect((await rejection(csv('deviceId,note\nf-1,"open\n'))).message).toMatch(/The CSV does not parse: Quote Not Closed/);
    expect((await rejection(csv('deviceId,note\n'))).message).toMatch(/no records/);
    expect((await rejection(csv(''))).message).toMatch(/is empty/);
  });
  it('refuses more rows than the per-request maximum with a 413', async () => {
    const err = await rejection(async () => decodeCsv(textBody('deviceId\na\nb\nc\n'), { ...ctx, limits: { ...DEFAULT_LIMITS, maxRecords: 2 } }));
    expect(err).toBeInstanceOf(PayloadTooLargeError);
  });
});
