import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../functions/commons/body';
import { decodeCsv } from '../../functions/commons/formats/csv';
import { textBody, type DecodeContext } from '../../functions/commons/formats/decoder';
import { decodeNdjson } from '../../functions/commons/formats/ndjson';
import { toCsv, toNdjson } from '../../functions/query/answer-format';
import { BadRequestError, PayloadTooLargeError } from '../../shared/domain/errors';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';

const stream = newStream(
  parseStreamInput({ name: 'fuzz', type: 'iot_sensor', dimensions: ['deviceId'], schema: { deviceId: { type: 'string' }, note: { type: 'string' }, level: { type: 'number' }, ok: { type: 'boolean' } } }),
  new Date('2026-12-01T00:00:00Z'),
  () => 'x',
);
const ctx: DecodeContext = { limits: DEFAULT_LIMITS, stream: async () => stream, what: 'The body', params: {} };
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 });
const row = fc.record({ deviceId: text, note: text, level: fc.double({ noNaN: true, noDefaultInfinity: true }), ok: fc.boolean() }, { requiredKeys: ['deviceId'] });

describe('CSV and NDJSON, written by the query answers and read by ingest', () => {
  it('reads back every record the CSV writer writes, quotes, commas, line breaks and formulas included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 20 }), async (records) => {
        const q = { granularity: 'raw' as const, keyDimensions: ['deviceId'], fields: ['note', 'level', 'ok'], downsamplers: [] };
        const points = records.map(({ deviceId, ...values }) => ({ time: '2026-12-01T00:00:00.000Z', dimensions: { deviceId }, values }));
        const csv = toCsv(q, points).replace(/^time,/, 'timestamp,');
        const { records: read } = await decodeCsv(textBody(csv), ctx);
        // -0 is written as 0: the same number to every store
        expect(read).toEqual(records.map((r) => ({ timestamp: '2026-12-01T00:00:00.000Z', ...r, ...(r.level !== undefined && { level: r.level === 0 ? 0 : r.level }) })));
      }),
    );
  });

  it('reads back every NDJSON line the writer writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 20 }), async (records) => {
        const points = records.map(({ deviceId, ...values }) => ({ time: '2026-12-01T00:00:00.000Z', dimensions: { deviceId }, values }));
        expect((await decodeNdjson(textBody(toNdjson(points)), ctx)).records).toEqual(JSON.parse(JSON.stringify(points)));
      }),
    );
  });

  it('answers any text with records or a 400/413, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (body) => {
        for (const decode of [decodeCsv, decodeNdjson]) {
          try {
            await decode(textBody(body), ctx);
          } catch (err) {
            expect(err instanceof BadRequestError || err instanceof PayloadTooLargeError, String(err)).toBe(true);
          }
        }
      }),
    );
  });
});
