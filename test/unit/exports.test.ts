import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../shared/domain/errors';
import { contentDisposition, parseExportQuery, spreadsheetSafe } from '../../shared/domain/exports';
import type { Stream } from '../../shared/domain/stream-definition';

const stream = { id: 'freezers', schema: { temperature: { type: 'number' }, note: { type: 'string' }, deviceId: { type: 'string' } }, timeField: 'timestamp', dimensions: ['deviceId'] } as unknown as Stream;
const NOW = Date.parse('2026-12-02T00:00:00.000Z');

describe('spreadsheetSafe', () => {
  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])('prefixes %j, which a spreadsheet would run, with a quote', (text) => {
    expect(spreadsheetSafe(text)).toBe(`'${text}`);
  });

  it('leaves other text, numbers (negative ones too) and absent values as they are', () => {
    expect(spreadsheetSafe('plain =1')).toBe('plain =1');
    expect(spreadsheetSafe(-18.5)).toBe(-18.5);
    expect(spreadsheetSafe(undefined)).toBeUndefined();
  });
});

describe('parseExportQuery', () => {
  it('defaults to CSV of the last 24 hours in pages of 10 000 rows, named for the stream and the range', () => {
    const q = parseExportQuery(stream, {}, NOW);
    expect(q).toMatchObject({ format: 'csv', filename: 'freezers_2026-12-01T00-00-00.000Z_2026-12-02T00-00-00.000Z.csv', query: { limit: 10_000, granularity: 'raw' } });
  });

  it('refuses an unknown format and the paging parameters, naming each', () => {
    let caught: unknown;
    try {
      parseExportQuery(stream, { format: 'xlsx', cursor: 'x', order: 'desc', window: 'tumbling:1m' }, NOW);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BadRequestError);
    expect((caught as BadRequestError).issues.map((i) => i.path[0]).sort()).toEqual(['cursor', 'format', 'order', 'window']);
  });
});

describe('contentDisposition', () => {
  it('quotes the filename and replaces what could end the header or the quotes', () => {
    expect(contentDisposition('a"b\\c\r\nd.csv')).toBe('attachment; filename="a_b_c__d.csv"');
  });
});
